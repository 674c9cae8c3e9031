// Start Redoc from the container's data attributes (no inline script, for a Content-Security-Policy of 'self').
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  var settings = JSON.parse(container.getAttribute("data-settings") || "{}");
  window.Redoc.init(container.getAttribute("data-schema-url"), settings, container);
})();
