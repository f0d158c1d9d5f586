// Airstrip admin: progressive enhancement only. Every form works without this script.
(function () {
  'use strict'

  // Drag-and-drop upload with a real progress bar (XMLHttpRequest upload progress).
  var form = document.querySelector('form[data-upload]')
  if (form && window.FormData && window.XMLHttpRequest) enhanceUpload(form)

  // Copy buttons next to secrets shown once.
  Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (button) {
    button.hidden = false
    button.addEventListener('click', function () {
      var field = document.getElementById(button.getAttribute('data-copy'))
      if (!field) return
      field.select()
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(function () { button.textContent = 'Copied' }, function () {})
    })
  })

  function enhanceUpload(form) {
    var zone = form.querySelector('[data-dropzone]')
    var input = form.querySelector('input[type=file]')
    var bar = form.querySelector('[data-progress]')
    var status = form.querySelector('[data-status]')
    var label = form.querySelector('[data-file]')
    var button = form.querySelector('button[type=submit]')
    var file = null
    input.required = false
    form.setAttribute('data-enhanced', '')

    function choose(chosen) {
      file = chosen
      label.textContent = chosen ? chosen.name + ' · ' + megabytes(chosen.size) : ''
      status.textContent = ''
    }
    input.addEventListener('change', function () { choose(input.files && input.files[0] ? input.files[0] : null) })
    ;['dragenter', 'dragover'].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add('over') })
    })
    ;['dragleave', 'drop'].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove('over') })
    })
    zone.addEventListener('drop', function (event) {
      event.preventDefault()
      var dropped = event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files[0]
      if (dropped) choose(dropped)
    })

    form.addEventListener('submit', function (event) {
      event.preventDefault()
      if (!file) { status.textContent = 'Choose or drop an .ipa first.'; return }
      var data = new FormData(form)
      data.set('file', file, file.name)
      var xhr = new XMLHttpRequest()
      xhr.open('POST', form.action)
      xhr.setRequestHeader('Accept', 'application/json')
      xhr.setRequestHeader('X-CSRF-Token', form.elements._csrf.value)
      xhr.upload.addEventListener('progress', function (progress) {
        if (!progress.lengthComputable) return
        bar.max = progress.total
        bar.value = progress.loaded
        bar.setAttribute('data-events', String(Number(bar.getAttribute('data-events') || 0) + 1))
        status.textContent = 'Uploading… ' + Math.floor((progress.loaded / progress.total) * 100) + ' %'
      })
      xhr.upload.addEventListener('load', function () { status.textContent = 'Uploaded; checking the build…' })
      xhr.addEventListener('load', function () {
        var body = null
        try { body = JSON.parse(xhr.responseText) } catch (error) { body = null }
        if (xhr.status === 201 && body && body.url) {
          status.textContent = 'Done.'
          form.setAttribute('data-done', body.url)
          window.location.assign(body.url)
          return
        }
        fail(body && body.message ? body.message : 'The server answered ' + xhr.status + '.')
      })
      xhr.addEventListener('error', function () { fail('The connection failed before the upload finished.') })
      bar.hidden = false
      bar.value = 0
      button.disabled = true
      status.textContent = 'Uploading…'
      xhr.send(data)
    })

    function fail(message) {
      status.textContent = 'Not uploaded: ' + message
      status.className = 'small bad'
      button.disabled = false
    }
  }

  function megabytes(bytes) {
    return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0) + ' MB'
  }
})()
