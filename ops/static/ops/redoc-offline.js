// Redoc (drf-spectacular-sidecar's bundle) draws its "API docs by Redocly" logo from cdn.redoc.ly: keep every
// page same-origin (offline, and a Content-Security-Policy of 'self') by pointing that one image at our own copy.
(function () {
  "use strict";
  var FOREIGN = "https://cdn.redoc.ly/";
  var local = document.currentScript.src.replace(/redoc-offline\.js(\?.*)?$/, "redoc-logo.svg");
  function ours(value) { return String(value).indexOf(FOREIGN) === 0 ? local : value; }

  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src") { value = ours(value); }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: function () { return src.get.call(this); },
    set: function (value) { src.set.call(this, ours(value)); }
  });
})();
