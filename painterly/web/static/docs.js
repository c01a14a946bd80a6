// Renders /openapi.json as a plain list of endpoints (no third-party viewer, nothing remote).
"use strict";

function node(tag, text, className) {
  const element = document.createElement(tag);
  if (text) element.textContent = text;
  if (className) element.className = className;
  return element;
}

fetch("/openapi.json").then((response) => response.json()).then((spec) => {
  const main = document.getElementById("endpoints");
  const intro = node("section", null, "panel");
  intro.append(node("p", spec.info.description));
  main.append(intro);
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const section = node("section", null, "panel");
      section.append(node("h2", `${method.toUpperCase()} ${path}`));
      section.append(node("p", operation.summary));
      const parameters = operation.parameters || [];
      if (parameters.length) {
        const list = node("ul");
        for (const p of parameters) list.append(node("li", `${p.name} (${p.in}): ${p.description || ""}`));
        section.append(list);
      }
      const responses = node("ul");
      for (const [code, response] of Object.entries(operation.responses)) {
        responses.append(node("li", `${code}: ${response.description}`));
      }
      section.append(responses);
      main.append(section);
    }
  }
  const schemas = node("section", null, "panel");
  schemas.append(node("h2", "Schemas"));
  schemas.append(node("pre", JSON.stringify(spec.components.schemas, null, 1)));
  main.append(schemas);
});
