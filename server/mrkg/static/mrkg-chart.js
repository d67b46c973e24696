// The comparison chart (/compare): fetch the Vega-Lite spec the server wrote and draw it with vega-embed, as SVG.
// Vega's expressions run through vega-interpreter, so nothing is compiled with Function() and the site's CSP (no
// 'unsafe-eval') holds. The table below the chart has the same rows, for readers without JavaScript.
import { expressionInterpreter } from "./vendor/vega/vega-interpreter.js";

const holder = document.getElementById("chart");
if (holder && window.vegaEmbed) {
  fetch(holder.dataset.spec, { headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(`chart data: HTTP ${response.status}`);
      return response.json();
    })
    .then((spec) => window.vegaEmbed(holder, spec, {
      renderer: "svg", ast: true, expr: expressionInterpreter,
      actions: { export: true, source: false, compiled: false, editor: false },
    }))
    .then(() => { holder.dataset.rendered = "true"; })
    .catch((error) => {
      holder.dataset.rendered = "error";
      holder.textContent = "The chart could not be drawn (" + error.message + "); the table below has its data.";
    });
}
