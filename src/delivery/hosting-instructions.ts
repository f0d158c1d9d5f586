import type { DeploymentFile, DeploymentPlan } from './deployment.ts'

/**
 * What the host of a static deployment must do, with snippets ready to paste: nginx, Apache,
 * S3/CloudFront and GitHub Pages-style hosts. iOS needs HTTPS with a certificate it trusts, the
 * manifest as `text/xml` and the .ipa as `application/octet-stream`, both fetched directly (no
 * redirect, no login: the installer sends no cookies and re-prompts basic auth for every file).
 */
export function hostingInstructions(plan: DeploymentPlan, outDir: string): string {
  const url = new URL(plan.baseUrl)
  const path = decodePath(url.pathname)
  const files = [plan.files.ipa, plan.files.manifest, ...(plan.files.icon ? [plan.files.icon] : []), plan.files.page]
  const local = (file: DeploymentFile): string => shellQuote(`${outDir.replace(/\/+$/, '')}/${file.name}`)
  const s3 = (file: DeploymentFile): string => {
    const noCache = file === plan.files.manifest || file === plan.files.page ? ' --cache-control no-store' : ''
    return `  aws s3 cp ${local(file)} ${shellQuote(`s3://YOUR-BUCKET${path}${file.name}`)} --content-type ${shellQuote(file.contentType)}${noCache}`
  }
  return [
    `Upload every file of ${outDir} to ${plan.baseUrl} (same names), then open ${plan.pageUrl} on an iPhone.`,
    '',
    'The host must:',
    '  - serve HTTPS with a certificate iOS trusts (a public CA, or your own CA installed and fully trusted on each device);',
    `  - serve ${plan.files.manifest.name} as text/xml and ${plan.files.ipa.name} as application/octet-stream;`,
    '  - answer 200 directly for both: no redirect, no login (iOS fetches them without cookies);',
    '  - send Cache-Control: no-store with the manifest and the page, so a new export replaces them at once.',
    '',
    `nginx (inside the server block; "types" replaces the whole MIME map of this location):`,
    `  location ${/[\s;{}"']/.test(path) ? JSON.stringify(path) : path} {`,
    '      types {',
    '          text/html                 html;',
    '          text/xml                  plist;',
    '          application/octet-stream  ipa;',
    '          image/png                 png;',
    '      }',
    '      location ~ \\.(plist|html)$ {',
    '          add_header Cache-Control no-store;',
    '      }',
    '  }',
    '',
    'Apache (.htaccess in the folder, or the virtual host; Header needs mod_headers):',
    '  AddType text/xml .plist',
    '  AddType application/octet-stream .ipa',
    '  <FilesMatch "\\.(plist|html)$">',
    '      Header set Cache-Control no-store',
    '  </FilesMatch>',
    '',
    'S3 / CloudFront (CloudFront passes the object\'s Content-Type through):',
    ...files.map(s3),
    '',
    'GitHub Pages, Netlify, Cloudflare Pages (HTTPS built in, no per-file types):',
    '  Netlify and Cloudflare Pages: add a file named _headers at the site root:',
    `    ${path}${plan.files.manifest.name}`,
    '      Content-Type: text/xml',
    '      Cache-Control: no-store',
    `    ${path}*.ipa`,
    '      Content-Type: application/octet-stream',
    '  GitHub Pages chooses types itself and refuses files over 100 MiB: check the manifest\'s type below.',
    '',
    'Check what the host sends:',
    `  curl -sI ${shellQuote(plan.manifestUrl)} | grep -i '^content-type'`,
    `  curl -sI ${shellQuote(plan.ipaUrl)} | grep -i '^content-type'`,
    '',
  ].join('\n')
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** Single-quoted for sh: paths and URLs may hold spaces, `&` or `$`. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
