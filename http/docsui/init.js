// Starts Swagger UI on this service's own OpenAPI document. Everything the
// page loads comes from this server: the validator badge, which would call
// validator.swagger.io, is off, and no preset or plugin that fetches from
// elsewhere is used.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
  });
});
