/* Lists the chosen images, in order, each with its own examination-step select and a preview.
   Each step starts as a guess from the file order, said next to it; choosing a step or ticking
   "Step checked" confirms it, and the form posts, per file, whether it was confirmed
   (file_step_checked), so the case page can mark the steps still guessed. For a JPEG or PNG,
   a small copy drawn in the browser is sent to the bank's step classifier, and a guess its
   pixels contradict (a "Lugol's iodine" guess on a colour image) is replaced by the step they
   suggest, still a guess, said so ("Suggested from the image").
   Without this script the form still works: one step select applies to every file. */
(function () {
  "use strict";

  // The usual colposcopy sequence: a sensible first guess that the clinician checks.
  var SEQUENCE = ["before_acetic_acid", "after_acetic_acid", "green_filter", "after_lugol"];
  var PREVIEWABLE = ["image/jpeg", "image/png"];
  var ACCEPTED = ["image/jpeg", "image/png", "image/tiff", "application/dicom"];
  // Browsers give most DICOM files no type at all: their extension is all there is to go by.
  function isAccepted(file) {
    return ACCEPTED.indexOf(file.type) !== -1 || /\.dcm$/i.test(file.name);
  }

  var canRewrite = (function () {
    try { return typeof DataTransfer === "function" && !!new DataTransfer().items; }
    catch (e) { return false; }
  })();

  function humanSize(bytes) {
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  function setup(root) {
    var input = root.querySelector('input[type="file"]');
    var list = root.querySelector("[data-file-list]");
    var hint = root.querySelector("[data-file-hint]");
    var optionsTemplate = root.querySelector("[data-step-options]");
    var labels = root.querySelector("[data-labels]").dataset;
    var entries = [];

    function syncInput() {
      if (!canRewrite) return;
      var transfer = new DataTransfer();
      entries.forEach(function (entry) { transfer.items.add(entry.file); });
      input.files = transfer.files;
    }

    function move(index, delta) {
      var target = index + delta;
      if (target < 0 || target >= entries.length) return;
      var moved = entries.splice(index, 1)[0];
      entries.splice(target, 0, moved);
      syncInput();
      render();
    }

    function remove(index) {
      var gone = entries.splice(index, 1)[0];
      if (gone.url) URL.revokeObjectURL(gone.url);
      syncInput();
      render();
    }

    function render() {
      list.textContent = "";
      hint.hidden = entries.length === 0;
      entries.forEach(function (entry, index) {
        var item = el("li", { "class": "file-item", "data-file-item": "" });
        var bad = !isAccepted(entry.file);
        if (bad) item.classList.add("has-error");
        item.appendChild(el("span", { "class": "file-order", "aria-hidden": "true" }, String(index + 1)));

        var thumb;
        if (PREVIEWABLE.indexOf(entry.file.type) !== -1) {
          entry.url = entry.url || URL.createObjectURL(entry.file);
          thumb = el("img", { "class": "file-thumb", src: entry.url, alt: "" });
        } else {
          thumb = el("span", { "class": "file-thumb" }, bad ? "?" : labels.noPreview);
        }
        item.appendChild(thumb);

        var main = el("div", { "class": "file-main" });
        var name = el("div", { "class": "file-name" }, (index + 1) + ". " + entry.file.name);
        name.appendChild(el("span", { "class": "muted small" }, " · " + humanSize(entry.file.size)));
        main.appendChild(name);
        if (bad) main.appendChild(el("div", { "class": "errorlist" }, labels.notImage));

        var controls = el("div", { "class": "file-controls" });
        var selectId = "file-step-" + index + "-" + Math.random().toString(36).slice(2, 7);
        controls.appendChild(el("label", { "for": selectId, "class": "visually-hidden" },
          labels.step + " " + (index + 1)));
        var select = el("select", { name: "file_step", id: selectId, "data-file-step": "" });
        select.innerHTML = optionsTemplate.innerHTML;
        select.value = entry.step;
        controls.appendChild(select);

        // Whether the contributor confirmed this step: posted for every file, in order.
        var checkedField = el("input", { type: "hidden", name: "file_step_checked", "data-file-step-checked": "" });
        var guessId = selectId + "-guess";
        var guess = el("span", { "class": "file-guess", id: guessId, "data-file-guess": "" },
          entry.suggested ? labels.suggested : labels.guess);
        if (entry.suggested) guess.setAttribute("data-file-suggested", "");
        var checkLabel = el("label", { "class": "file-checked" });
        var checkBox = el("input", { type: "checkbox", "data-file-confirm": "" });
        checkLabel.appendChild(checkBox);
        checkLabel.appendChild(document.createTextNode(labels.checked));
        function showChecked() {
          checkedField.value = entry.checked ? "1" : "0";
          checkBox.checked = entry.checked;
          guess.hidden = entry.checked;
          if (entry.checked) select.removeAttribute("aria-describedby");
          else select.setAttribute("aria-describedby", guessId);
        }
        select.addEventListener("change", function () {
          entry.step = select.value;
          entry.checked = true;  // a step chosen by hand is no longer a guess
          showChecked();
        });
        checkBox.addEventListener("change", function () {
          entry.checked = checkBox.checked;
          showChecked();
        });
        showChecked();
        controls.appendChild(checkedField);
        controls.appendChild(checkLabel);
        if (canRewrite) {
          var up = el("button", { type: "button", "class": "btn-small btn-plain", title: labels.up }, "↑");
          up.setAttribute("aria-label", labels.up);
          up.disabled = index === 0;
          up.addEventListener("click", function () { move(index, -1); });
          var down = el("button", { type: "button", "class": "btn-small btn-plain", title: labels.down }, "↓");
          down.setAttribute("aria-label", labels.down);
          down.disabled = index === entries.length - 1;
          down.addEventListener("click", function () { move(index, 1); });
          var drop = el("button", { type: "button", "class": "btn-small btn-danger" }, labels.remove);
          drop.addEventListener("click", function () { remove(index); });
          controls.appendChild(up);
          controls.appendChild(down);
          controls.appendChild(drop);
        }
        main.appendChild(controls);
        main.appendChild(guess);
        item.appendChild(main);
        list.appendChild(item);
      });
    }

    // A copy at most SUGGEST_SIDE pixels on its long side (a few tens of KB), never the file.
    var SUGGEST_SIDE = 512;
    var suggestUrl = root.dataset.suggestUrl;
    var csrf = root.closest("form") && root.closest("form").querySelector('input[name="csrfmiddlewaretoken"]');

    function smallCopy(file) {
      return new Promise(function (resolve, reject) {
        var url = URL.createObjectURL(file);
        var img = new Image();
        img.onload = function () {
          var scale = Math.min(1, SUGGEST_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
          var canvas = document.createElement("canvas");
          canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
          canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          URL.revokeObjectURL(url);
          canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(); }, "image/jpeg", 0.9);
        };
        img.onerror = function () { URL.revokeObjectURL(url); reject(); };
        img.src = url;
      });
    }

    function suggest(entry) {
      if (!suggestUrl || !csrf || PREVIEWABLE.indexOf(entry.file.type) === -1) return;
      smallCopy(entry.file).then(function (blob) {
        var body = new FormData();
        body.append("file", blob, "copy.jpg");
        body.append("step", entry.step);
        return fetch(suggestUrl, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "X-CSRFToken": csrf.value }
        });
      }).then(function (response) {
        return response && response.ok ? response.json() : null;
      }).then(function (answer) {
        // The contributor's own choice always wins over a suggestion that arrives later.
        if (!answer || !answer.step || entry.checked || entries.indexOf(entry) === -1) return;
        entry.step = answer.step;
        entry.suggested = true;
        render();
      }).catch(function () { /* no suggestion: the guess from the file order stays */ });
    }

    input.addEventListener("change", function () {
      entries.forEach(function (entry) { if (entry.url) URL.revokeObjectURL(entry.url); });
      entries = Array.prototype.map.call(input.files, function (file, index) {
        return { file: file, step: SEQUENCE[index] || "other", checked: false, url: null, suggested: false };
      });
      render();
      entries.forEach(suggest);
    });

    // On a slow link an upload takes a while: say so, and stop a second click sending it twice.
    var form = root.closest("form");
    if (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector('button[type="submit"]:not([formaction])');
        if (!button) return;
        window.setTimeout(function () {
          button.disabled = true;
          button.setAttribute("aria-busy", "true");
        }, 0);
      });
    }
  }

  document.querySelectorAll("[data-uploader]").forEach(setup);
})();
