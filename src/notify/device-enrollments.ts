import type { DeviceService } from '../devices/device-service.ts'
import type { NotificationService } from './notification-service.ts'

/**
 * Forwards every enrolment the device service reports to the outbox as `device.enrolled` (to
 * every webhook subscribed to it: enrolment is not tied to one app). Returns the unsubscribe.
 */
export function notifyDeviceEnrollments(devices: Pick<DeviceService, 'onEnrolled'>, notifications: Pick<NotificationService, 'deviceEnrolled'>): () => void {
  return devices.onEnrolled((event) =>
    notifications.deviceEnrolled({
      id: event.device.id,
      udid: event.device.udid,
      name: event.device.name,
      model: event.device.modelName ?? event.device.product,
      osVersion: event.device.osVersion,
      enrolledAt: event.at,
    }),
  )
}
