import type { Services } from '../app.ts'
import type { EnrollmentPageModel, ResultBuildItem } from '../devices/enrollment-pages.ts'
import type { DeviceRecord } from '../store/devices.ts'
import { layoutView, type LayoutView } from './page-views.ts'

/** Data of `enroll.eta`. */
export interface EnrollView {
  layout: LayoutView
  m: EnrollmentPageModel
  qrSvg: string | null
}

export function enrollView(services: Services, input: { nonce: string; model: EnrollmentPageModel; qrSvg: string | null }): EnrollView {
  return { layout: layoutView(services, input.nonce, `Register your device · ${input.model.organization}`), m: input.model, qrSvg: input.qrSvg }
}

/** Data of `enroll-result.eta`. */
export interface EnrollResultView {
  layout: LayoutView
  device: { name: string; model: string | null; udid: string; osVersion: string | null; tester: string | null; verified: boolean }
  items: ResultBuildItem[]
  installableCount: number
  enrollUrl: string
}

export function enrollResultView(services: Services, input: { nonce: string; device: DeviceRecord; items: ResultBuildItem[] }): EnrollResultView {
  const { device } = input
  return {
    layout: layoutView(services, input.nonce, `${device.name} is registered · ${services.config.devices.organization}`),
    device: {
      name: device.name,
      model: device.modelName ?? device.product,
      udid: device.udid,
      osVersion: device.osVersion,
      tester: device.tester,
      verified: device.signatureVerified,
    },
    items: input.items,
    installableCount: input.items.filter((item) => item.installable).length,
    enrollUrl: services.devices.urls.page(),
  }
}
