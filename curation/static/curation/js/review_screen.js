/* The review pages (templates/curation/review_screen.html, review_queue.html): zoom and pan of each
   image, the full-resolution original on demand, outlines drawn as polygons on the image, the
   right-step field of a "wrong step" flag, the decision's unsent answers kept across the page's
   reloads, and the keyboard shortcuts. Everything else is plain forms that work without it.

   Outline points are in the image's own pixels: the SVG over each image has the viewBox
   0 0 width height of the full-resolution image (Image.width × Image.height), whatever is shown
   (the preview or the original) and however it is zoomed, so a click's position in the SVG's box
   scaled to that viewBox is the point. Shortcuts never fire while typing in a field, nor with
   Ctrl, Alt or Meta held. No inline style (Content-Security-Policy): transforms are set through
   the CSS object model. */
(function () {
  "use strict";

  var MIN_SCALE = 1;
  var MAX_SCALE = 16;
  var DRAG_THRESHOLD = 4; // pixels a press moves before it is a drag, not a click

  // A field that takes typed text (or letters, as a select does); radio buttons, checkboxes and
  // buttons do not, so the shortcuts still work after answering the checklist.
  var NOT_TYPED = ["radio", "checkbox", "button", "submit", "reset", "range", "color", "file"];
  function typing(target) {
    if (!target || !target.closest) return false;
    if (target.closest("select, textarea, [contenteditable]:not([contenteditable='false'])")) return true;
    var input = target.closest("input");
    return !!input && NOT_TYPED.indexOf(input.type) === -1;
  }

  function format(template, n) {
    return (template || "").replace("%(n)s", String(n));
  }

  /* --- the queue page: n asks for the next case -------------------------------------------- */
  var queueNext = document.querySelector("[data-review-queue] [data-shortcut-next]");
  var screen = document.querySelector("[data-review-screen]");
  if (queueNext && !screen) {
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) return;
      if (event.key === "n") {
        event.preventDefault();
        queueNext.form.requestSubmit(queueNext);
      }
    });
  }
  if (!screen) return;

  var strings = (screen.querySelector("[data-review-strings]") || {}).dataset || {};
  var reviewId = screen.getAttribute("data-review-screen");
  var held = screen.getAttribute("data-review-state") === "held";

  /* --- the claim: a warning 5 minutes before it ends, and when it has ended ------------------ */
  var ending = screen.querySelector("[data-claim-ending]");
  var expiresAt = screen.querySelector("[data-claim-expires]");
  if (held && ending && expiresAt) {
    var expires = Date.parse(expiresAt.getAttribute("datetime"));
    var watch = function () {
      var left = expires - Date.now();
      if (left <= 0) {
        ending.textContent = strings.ended;
        ending.hidden = false;
        screen.setAttribute("data-review-state", "expired");
        return;
      }
      if (left <= 5 * 60 * 1000) {
        ending.textContent = format(strings.ending, Math.max(1, Math.ceil(left / 60000)));
        ending.hidden = false;
      }
      window.setTimeout(watch, Math.min(30000, left + 50));
    };
    if (!isNaN(expires)) watch();
  }

  /* --- one image: zoom, pan, full resolution, drawing ---------------------------------------- */
  function Viewer(card) {
    var self = this;
    this.card = card;
    this.box = card.querySelector("[data-viewer]");
    this.stage = card.querySelector("[data-stage]");
    this.img = card.querySelector("[data-viewer-image]");
    this.svg = card.querySelector("[data-draw-layer]");
    this.level = card.querySelector("[data-zoom-level]");
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.width = parseFloat(this.box.getAttribute("data-width")) || 0;
    this.height = parseFloat(this.box.getAttribute("data-height")) || 0;
    this.drawing = null; // {points: [[x, y], …], closed: bool} while drawing
    this.suppressClick = false;

    var bind = function (selector, handler) {
      var el = card.querySelector(selector);
      if (el) el.addEventListener("click", handler);
      return el;
    };
    bind("[data-zoom-in]", function () { self.zoomBy(1.5); });
    bind("[data-zoom-out]", function () { self.zoomBy(1 / 1.5); });
    bind("[data-zoom-reset]", function () { self.reset(); });
    this.fullButton = bind("[data-full-resolution]", function () { self.toggleFull(); });

    // The wheel zooms an image that has the focus (clicked, or reached with Tab), one already
    // zoomed in, or any with Ctrl held; elsewhere it scrolls the page as usual.
    this.box.addEventListener("wheel", function (event) {
      if (!(event.ctrlKey || event.metaKey || self.scale > 1 || document.activeElement === self.box)) return;
      event.preventDefault();
      var rect = self.box.getBoundingClientRect();
      var factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
      self.zoomAt(self.scale * factor, event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });

    // Drag to pan; a press that does not move is a click (a point, while drawing).
    var press = null;
    this.box.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      press = { x: event.clientX, y: event.clientY, tx: self.tx, ty: self.ty, moved: false, id: event.pointerId };
    });
    this.box.addEventListener("pointermove", function (event) {
      if (!press || press.id !== event.pointerId) return;
      var dx = event.clientX - press.x;
      var dy = event.clientY - press.y;
      if (!press.moved && Math.abs(dx) + Math.abs(dy) < DRAG_THRESHOLD) return;
      if (!press.moved) {
        press.moved = true;
        self.box.setPointerCapture(event.pointerId);
        self.box.classList.add("is-panning");
      }
      self.tx = press.tx + dx;
      self.ty = press.ty + dy;
      self.apply();
    });
    var endPress = function (event) {
      if (!press || press.id !== event.pointerId) return;
      if (press.moved) self.suppressClick = true;
      self.box.classList.remove("is-panning");
      press = null;
    };
    this.box.addEventListener("pointerup", endPress);
    this.box.addEventListener("pointercancel", endPress);

    this.box.addEventListener("click", function (event) {
      if (self.suppressClick) {
        self.suppressClick = false;
        return;
      }
      if (!self.drawing || self.drawing.closed) return;
      var point = self.imagePoint(event);
      if (!point) return;
      // The second click of a double-click on the same spot closes the outline (dblclick),
      // it is not a point of its own.
      var last = self.drawing.points[self.drawing.points.length - 1];
      if (event.detail >= 2 && last && self.near(last, point)) return;
      self.drawing.points.push(point);
      self.renderDrawing();
    });
    this.box.addEventListener("dblclick", function (event) {
      if (!self.drawing || self.drawing.closed) return;
      event.preventDefault();
      self.closeDrawing();
    });

    this.form = card.querySelector("[data-outline-form]");
    if (this.form && this.svg) {
      this.pointsInput = this.form.querySelector("[data-outline-points]");
      this.status = this.form.querySelector("[data-draw-status]");
      this.startButton = this.form.querySelector("[data-draw-start]");
      this.undoButton = this.form.querySelector("[data-draw-undo]");
      this.cancelButton = this.form.querySelector("[data-draw-cancel]");
      this.saveButton = this.form.querySelector("[data-draw-save]");
      this.kindSelect = this.form.querySelector("[data-outline-kind]");
      this.shape = this.svg.querySelector("[data-drawing]");
      this.startButton.addEventListener("click", function () { self.startDrawing(); });
      this.undoButton.addEventListener("click", function () { self.undo(); });
      this.cancelButton.addEventListener("click", function () { self.cancelDrawing(true); });
      this.kindSelect.addEventListener("change", function () { self.renderDrawing(); });
      this.form.addEventListener("submit", function (event) {
        if (!self.drawing || !self.drawing.closed) {
          event.preventDefault();
          self.say(strings.needPoints);
        }
      });
    }
    this.apply();
  }

  Viewer.prototype.near = function (a, b) {
    var rect = this.svg ? this.svg.getBoundingClientRect() : null;
    if (!rect || !rect.width) return false;
    var perPixel = rect.width / this.width; // screen pixels per image pixel
    return Math.hypot((a[0] - b[0]) * perPixel, (a[1] - b[1]) * perPixel) < 8;
  };

  Viewer.prototype.apply = function () {
    var w = this.box.clientWidth;
    var h = this.box.clientHeight;
    // Keep the image over the whole box: no empty margin once zoomed.
    this.tx = Math.min(0, Math.max(w - w * this.scale, this.tx));
    this.ty = Math.min(0, Math.max(h - h * this.scale, this.ty));
    if (this.scale === 1) {
      this.tx = 0;
      this.ty = 0;
    }
    this.stage.style.transform = "translate(" + this.tx + "px, " + this.ty + "px) scale(" + this.scale + ")";
    this.box.classList.toggle("is-zoomed", this.scale > 1);
    if (this.level) this.level.textContent = this.scale > 1 ? format(strings.zoom, Math.round(this.scale * 10) / 10) : "";
  };

  Viewer.prototype.zoomAt = function (scale, cx, cy) {
    scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    var ratio = scale / this.scale;
    this.tx = cx - (cx - this.tx) * ratio;
    this.ty = cy - (cy - this.ty) * ratio;
    this.scale = scale;
    this.apply();
  };

  Viewer.prototype.zoomBy = function (factor) {
    this.zoomAt(this.scale * factor, this.box.clientWidth / 2, this.box.clientHeight / 2);
  };

  Viewer.prototype.reset = function () {
    this.scale = 1;
    this.apply();
  };

  Viewer.prototype.toggleFull = function () {
    var self = this;
    var full = this.fullButton.getAttribute("aria-pressed") !== "true";
    var url = this.box.getAttribute(full ? "data-original-url" : "data-preview-url");
    this.fullButton.setAttribute("aria-pressed", full ? "true" : "false");
    if (full) {
      this.fullButton.textContent = strings.loading || this.fullButton.textContent;
      this.img.addEventListener("load", function done() {
        self.img.removeEventListener("load", done);
        self.fullButton.textContent = strings.full || self.fullButton.textContent;
      });
    }
    this.img.src = url;
  };

  // The click's position in the image's own pixels (the SVG's viewBox), or null outside it.
  Viewer.prototype.imagePoint = function (event) {
    if (!this.svg || !this.width || !this.height) return null;
    var rect = this.svg.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    var x = ((event.clientX - rect.left) / rect.width) * this.width;
    var y = ((event.clientY - rect.top) / rect.height) * this.height;
    if (x < 0 || y < 0 || x > this.width || y > this.height) return null;
    return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
  };

  Viewer.prototype.say = function (text) {
    if (this.status) this.status.textContent = text || "";
  };

  Viewer.prototype.startDrawing = function () {
    this.drawing = { points: [], closed: false };
    this.box.classList.add("is-drawing");
    this.startButton.disabled = true;
    this.cancelButton.disabled = false;
    this.saveButton.disabled = true;
    this.pointsInput.value = "";
    this.renderDrawing();
    this.box.focus({ preventScroll: true });
    active.current = this;
  };

  Viewer.prototype.renderDrawing = function () {
    if (!this.shape) return;
    var drawing = this.drawing;
    var points = drawing ? drawing.points : [];
    this.shape.setAttribute("points", points.map(function (p) { return p[0] + "," + p[1]; }).join(" "));
    var kind = this.kindSelect ? this.kindSelect.value : "lesion";
    this.shape.setAttribute("class", "drawing outline outline-" + kind + (drawing && drawing.closed ? " is-closed" : ""));
    if (!drawing) return;
    this.undoButton.disabled = !points.length;
    if (drawing.closed) this.say(format(strings.closed, points.length));
    else this.say(format(strings.drawing, points.length));
  };

  Viewer.prototype.undo = function () {
    if (!this.drawing) return;
    if (this.drawing.closed) {
      this.drawing.closed = false;
      this.saveButton.disabled = true;
      this.pointsInput.value = "";
    } else {
      this.drawing.points.pop();
    }
    this.renderDrawing();
  };

  Viewer.prototype.closeDrawing = function () {
    if (!this.drawing) return;
    if (this.drawing.points.length < 3) {
      this.say(strings.needPoints);
      return;
    }
    this.drawing.closed = true;
    this.pointsInput.value = JSON.stringify(this.drawing.points);
    this.saveButton.disabled = false;
    this.renderDrawing();
    this.saveButton.focus();
  };

  Viewer.prototype.cancelDrawing = function (announce) {
    this.drawing = null;
    this.box.classList.remove("is-drawing");
    if (this.pointsInput) this.pointsInput.value = "";
    if (this.startButton) {
      this.startButton.disabled = false;
      this.cancelButton.disabled = true;
      this.undoButton.disabled = true;
      this.saveButton.disabled = true;
    }
    this.renderDrawing();
    this.say(announce ? strings.cancelled : "");
    if (active.current === this) active.current = null;
  };

  var active = { current: null }; // the viewer being drawn on
  var cards = Array.prototype.slice.call(screen.querySelectorAll("[data-review-image]"));
  var viewers = cards.map(function (card) {
    return card.querySelector("[data-viewer]") ? new Viewer(card) : null;
  });
  window.addEventListener("resize", function () {
    viewers.forEach(function (viewer) { if (viewer) viewer.apply(); });
  });

  /* --- flags: the right step only for a wrong step label ------------------------------------- */
  screen.querySelectorAll("[data-flag-form]").forEach(function (form) {
    var reason = form.querySelector("[data-flag-reason]");
    var stepField = form.querySelector("[data-correct-step]");
    var stepSelect = form.querySelector("[data-correct-step-select]");
    if (!reason || !stepField) return;
    var sync = function () {
      var wrongStep = reason.value === "wrong_step";
      stepField.hidden = !wrongStep;
      stepSelect.disabled = !wrongStep;
      stepSelect.required = wrongStep;
    };
    reason.addEventListener("change", sync);
    sync();
  });

  /* --- the current image, and moving between images ------------------------------------------ */
  var current = 0;
  var hash = window.location.hash.replace("#image-", "");
  cards.forEach(function (card, index) {
    if (card.getAttribute("data-review-image") === hash) current = index;
    card.addEventListener("focusin", function () { current = index; });
    card.addEventListener("pointerdown", function () { current = index; });
  });
  function mark() {
    cards.forEach(function (card, index) { card.classList.toggle("is-current", index === current); });
  }
  function go(step) {
    if (!cards.length) return;
    current = Math.min(cards.length - 1, Math.max(0, current + step));
    mark();
    var card = cards[current];
    card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    var viewer = card.querySelector("[data-viewer]");
    (viewer || card).focus({ preventScroll: true });
  }
  mark();

  /* --- the decision: answers kept across reloads, accept and submit ------------------------- */
  var decisionForm = document.getElementById("decision-form");
  var storageKey = "review-draft-" + reviewId;
  var store = null;
  try { store = window.sessionStorage; } catch (error) { store = null; }

  function formFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.type !== "submit" && el.type !== "button";
    });
  }
  function saveDraft() {
    if (!store || !decisionForm) return;
    var draft = {};
    formFields(decisionForm).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        draft[el.name + "=" + el.value] = el.checked;
      } else {
        draft[el.name] = el.value;
      }
    });
    try { store.setItem(storageKey, JSON.stringify(draft)); } catch (error) { /* full: fine */ }
  }
  function restoreDraft() {
    if (!store || !decisionForm || screen.hasAttribute("data-bound")) return;
    var draft;
    try { draft = JSON.parse(store.getItem(storageKey) || "null"); } catch (error) { draft = null; }
    if (!draft) return;
    formFields(decisionForm).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        var key = el.name + "=" + el.value;
        if (key in draft) el.checked = !!draft[key];
      } else if (el.name in draft) {
        el.value = draft[el.name];
      }
    });
  }

  var reasons = screen.querySelector("[data-reasons]");
  function syncReasons() {
    if (!decisionForm || !reasons) return;
    var chosen = decisionForm.querySelector("[data-decision-choice]:checked");
    reasons.hidden = !!chosen && chosen.value === "accept";
  }
  function syncExcluded() {
    screen.querySelectorAll("[data-exclude]").forEach(function (box) {
      var card = box.closest("[data-review-image]");
      if (card) card.classList.toggle("is-excluded", box.checked);
    });
  }

  if (decisionForm) {
    restoreDraft();
    syncReasons();
    syncExcluded();
    formFields(decisionForm).forEach(function (el) {
      el.addEventListener("change", function () {
        saveDraft();
        syncReasons();
        syncExcluded();
      });
      if (el.tagName === "TEXTAREA") el.addEventListener("input", saveDraft);
    });
    decisionForm.addEventListener("submit", function () {
      if (store) store.removeItem(storageKey);
    });
  } else if (store && !held) {
    store.removeItem(storageKey);
  }

  function accept() {
    if (!decisionForm) return;
    var choice = decisionForm.querySelector("[data-decision-choice][value='accept']");
    if (!choice) return;
    choice.checked = true;
    choice.dispatchEvent(new Event("change", { bubbles: true }));
    // On to the first item not answered yet, else to the submit button.
    var unanswered = Array.prototype.find.call(
      decisionForm.querySelectorAll("[data-eligibility]"),
      function (item) { return !item.querySelector("input:checked"); }
    );
    var target = unanswered ? unanswered.querySelector("input") : decisionForm.querySelector("[data-decision-submit]");
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.focus({ preventScroll: true });
  }

  function submitAndNext() {
    if (!decisionForm) return;
    var next = document.getElementById("id_then_next");
    if (next) next.checked = true;
    saveDraft();
    decisionForm.requestSubmit(decisionForm.querySelector("[data-decision-submit]"));
  }

  function flag() {
    var card = cards[current];
    var select = card && card.querySelector("[data-flag-reason]");
    if (!select) return;
    select.scrollIntoView({ block: "center", behavior: "smooth" });
    select.focus({ preventScroll: true });
  }

  function draw() {
    var viewer = viewers[current];
    if (viewer && viewer.startButton && !viewer.drawing) viewer.startDrawing();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var drawing = active.current;
    // While drawing, the drawing's keys come first (Enter on a focused button stays a click).
    if (drawing && drawing.drawing) {
      var onButton = event.target && event.target.closest && event.target.closest("button, a");
      if (event.key === "Escape") {
        event.preventDefault();
        drawing.cancelDrawing(true);
        return;
      }
      if (!typing(event.target) && !onButton) {
        if (event.key === "Enter") {
          event.preventDefault();
          drawing.closeDrawing();
          return;
        }
        if (event.key === "Backspace" || event.key === "u") {
          event.preventDefault();
          drawing.undo();
          return;
        }
      }
    }
    if (typing(event.target)) return;
    // Arrows move between radio buttons: there they keep their own meaning.
    if (event.key.indexOf("Arrow") === 0 && event.target.closest && event.target.closest("input")) return;
    var viewer = viewers[current];
    switch (event.key) {
      case "j":
      case "ArrowRight":
        event.preventDefault();
        go(1);
        break;
      case "k":
      case "ArrowLeft":
        event.preventDefault();
        go(-1);
        break;
      case "+":
      case "=":
        if (viewer) { event.preventDefault(); viewer.zoomBy(1.5); }
        break;
      case "-":
        if (viewer) { event.preventDefault(); viewer.zoomBy(1 / 1.5); }
        break;
      case "0":
        if (viewer) { event.preventDefault(); viewer.reset(); }
        break;
      case "f":
        if (held) { event.preventDefault(); flag(); }
        break;
      case "d":
        if (held) { event.preventDefault(); draw(); }
        break;
      case "a":
        if (held) { event.preventDefault(); accept(); }
        break;
      case "n":
        if (held) { event.preventDefault(); submitAndNext(); }
        break;
      default:
        break;
    }
  });
})();
