/* Case page, automated checks (templates/curation/case_checks.html): the buttons that show a
   check's overlay (blood, glare) over the image's preview, and the verdict buttons that show the
   measured value and the threshold on tap (hover and keyboard focus show them through CSS).
   Without this script the overlays stay hidden and their buttons are not offered. */
(function () {
  "use strict";

  var panel = document.querySelector("[data-check-panel]");
  if (!panel) return;

  panel.querySelectorAll("[data-overlay-toggles]").forEach(function (group) {
    group.hidden = false;
  });

  panel.querySelectorAll("[data-overlay-toggle]").forEach(function (button) {
    var overlay = document.getElementById(button.getAttribute("aria-controls"));
    if (!overlay) return;
    button.addEventListener("click", function () {
      var shown = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", shown ? "true" : "false");
      overlay.hidden = !shown;
    });
  });

  panel.querySelectorAll("[data-check-toggle]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
      }
    });
  });
})();
