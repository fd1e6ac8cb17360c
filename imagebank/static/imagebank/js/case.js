/* Case page: open a preview larger, confirm removals, move images earlier or later before saving
   their order, and follow images still being processed. */
(function () {
  "use strict";

  var dialog = document.querySelector("[data-lightbox]");
  if (dialog && typeof dialog.showModal === "function") {
    var big = dialog.querySelector("[data-lightbox-img]");
    var caption = dialog.querySelector("[data-lightbox-caption]");
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-zoom]");
      if (!link) return;
      event.preventDefault();
      big.src = link.getAttribute("href");
      big.alt = link.dataset.caption || "";
      caption.textContent = link.dataset.caption || "";
      dialog.showModal();
    });
    dialog.querySelector("[data-lightbox-close]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Steps and order: the position fields work without this; the buttons move an image and
  // number every position again, in the order the images now stand.
  var arrangeForm = document.querySelector("[data-arrange-form]");
  var arrangeList = document.querySelector("[data-gallery]");
  if (arrangeForm && arrangeList) {
    var renumber = function () {
      var inputs = arrangeList.querySelectorAll("[data-arrange-order]");
      Array.prototype.forEach.call(inputs, function (input, index) { input.value = String(index + 1); });
      arrangeForm.classList.add("unsaved");
    };
    Array.prototype.forEach.call(arrangeList.children, function (item) {
      var fields = item.querySelector("[data-arrange-item]");
      if (!fields) return;
      var moves = document.createElement("div");
      moves.className = "arrange-moves";
      [["up", -1, "↑"], ["down", 1, "↓"]].forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn-small btn-plain";
        button.textContent = spec[2];
        button.setAttribute("aria-label", arrangeForm.dataset[spec[0]] || spec[0]);
        button.title = arrangeForm.dataset[spec[0]] || spec[0];
        button.addEventListener("click", function () {
          var other = spec[1] < 0 ? item.previousElementSibling : item.nextElementSibling;
          if (!other) return;
          if (spec[1] < 0) arrangeList.insertBefore(item, other);
          else arrangeList.insertBefore(other, item);
          renumber();
          button.focus();
        });
        moves.appendChild(button);
      });
      fields.appendChild(moves);
      fields.addEventListener("change", function () { arrangeForm.classList.add("unsaved"); });
    });
  }

  var gallery = document.querySelector("[data-gallery][data-status-url]");
  if (!gallery) return;
  var delay = 2000;

  function userIsBusy() {
    if (arrangeForm && arrangeForm.classList.contains("unsaved")) return true;  // keep their edits
    return Array.prototype.some.call(document.querySelectorAll('input[type="file"]'), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  function poll() {
    fetch(gallery.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return schedule();
        var pending = data.images.filter(function (image) { return image.status === "pending"; });
        if (pending.length === 0 && !userIsBusy()) {
          window.location.reload();  // everything is ready: show it, and enable Submit
          return;
        }
        data.images.forEach(function (image) {
          if (image.status !== "done") return;
          var figure = gallery.querySelector('[data-image="' + image.pk + '"]');
          var placeholder = figure && figure.querySelector("[data-pending]");
          if (!placeholder) return;
          var link = document.createElement("a");
          link.className = "shot-link";
          link.href = image.preview;
          link.setAttribute("data-zoom", "");
          var img = document.createElement("img");
          img.src = image.thumbnail;
          img.alt = "";
          link.appendChild(img);
          placeholder.replaceWith(link);
        });
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    delay = Math.min(delay * 1.5, 15000);  // back off: cheap on slow, metered links
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
