// canonflow UI: small progressive enhancements. Every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (!window.htmx) return;
  // Errors (4xx/5xx) come back as a notice fragment: show it in #notice, not nowhere.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true, target: "#notice", swapOverride: "innerHTML" },
  ];
  // Every htmx write carries the session's CSRF token as a header.
  document.body.addEventListener("htmx:configRequest", (event) => {
    const token = document.body.dataset.csrf;
    if (token) event.detail.headers["X-CSRF-Token"] = token;
  });
});
