// The release pages' "Copy" buttons: copy the text of the element named by data-copy-target.
// Local only (no network); where the clipboard API is unavailable (plain HTTP), the text is
// selected so that the reader copies it with the keyboard. The button says what happened.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function announce(button, text) {
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (status) status.textContent = text;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { announce(button, button.getAttribute("data-copied")); },
        function () { selectText(source); announce(button, button.getAttribute("data-select")); }
      );
    } else {
      selectText(source);
      announce(button, button.getAttribute("data-select"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy-target][hidden]").forEach(function (button) {
      button.hidden = false;  // shown only where this script runs
    });
  });
})();
