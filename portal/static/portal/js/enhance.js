// Marks the page as scripted before it is drawn, so that .js / .no-js-only styles apply at once
// (loaded in <head> without defer; a file, not inline, for the Content-Security-Policy).
document.documentElement.className += " js";
