/* Import pages: refuse a file too large before sending it, say that a file is being sent, and
   follow a run that has not finished (the page reloads only when its status changes). */
(function () {
  "use strict";

  var form = document.querySelector("form[data-import-form]");
  if (form) {
    var input = form.querySelector('input[type="file"]');
    var sizeError = form.querySelector("[data-size-error]");
    var button = form.querySelector("button[type='submit']");
    var sending = form.querySelector("[data-sending]");
    var maxBytes = parseInt(form.dataset.maxBytes, 10) || 0;

    var tooLarge = function () {
      var file = input && input.files && input.files[0];
      return Boolean(file && maxBytes && file.size > maxBytes);
    };
    var showSize = function () {
      var bad = tooLarge();
      if (sizeError) sizeError.hidden = !bad;
      if (input) input.setAttribute("aria-invalid", bad ? "true" : "false");
    };
    if (input) input.addEventListener("change", showSize);

    form.addEventListener("submit", function (event) {
      if (tooLarge()) {
        event.preventDefault();
        showSize();
        input.focus();
        return;
      }
      if (sending) sending.hidden = false;
      if (button) {
        button.textContent = button.dataset.sendingLabel || button.textContent;
        // Disabled after the browser has taken the submission, so it is not cancelled.
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }

  var waiting = document.querySelector("[data-run-poll]");
  if (!waiting) return;
  var seconds = parseInt(waiting.dataset.refreshSeconds, 10) || 5;
  var status = waiting.dataset.status;

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var badge = page.querySelector("[data-run-status]");
        if (badge && badge.dataset.runStatus !== status) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, seconds * 1000);
      })
      .catch(function () {
        // Offline for a moment: keep trying at the same pace.
        window.setTimeout(poll, seconds * 1000);
      });
  }

  window.setTimeout(poll, seconds * 1000);
})();
