// mrkg query UI: YASGUI when it is installed (served from this server, no CDN); otherwise the plain form,
// which also works without JavaScript (the server runs the query and renders the table).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("mrkg-config").textContent);
  // The server names the endpoint by its path; the address is the one this page was loaded from.
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var select = document.getElementById("example");
  var description = document.getElementById("example-description");
  var loadButton = document.getElementById("load-example");
  var textarea = document.getElementById("query");
  if (loadButton) loadButton.hidden = true;

  function example(name) {
    for (var i = 0; i < config.examples.length; i++) if (config.examples[i].name === name) return config.examples[i];
    return null;
  }

  if (window.Yasgui) {
    // YASGUI edits and runs queries; results the server rendered for a ?query= link stay below it.
    document.getElementById("plain-editor").hidden = true;
    var extras = window.mrkgYasguiExtras;  // mrkg-yasgui.js: predefined prefixes, completion, local links
    if (extras) extras.before(window.Yasgui, config);
    var yasgui = new window.Yasgui(document.getElementById("yasgui"), {
      requestConfig: { endpoint: endpoint, method: "POST" },
      copyEndpointOnNewTab: false,
      persistenceId: null,
      endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
      yasqe: { autocompleters: extras ? extras.completers : ["variables"], value: textarea.value },
      yasr: { prefixes: config.prefixes }
    });
    window.mrkgYasgui = yasgui;
    if (extras) extras.after(yasgui, document.getElementById("yasgui"));
    var tab = yasgui.getTab();
    if (tab && textarea.value) tab.setQuery(textarea.value);
    select.addEventListener("change", function () {
      var item = example(select.value);
      description.textContent = item ? item.description : "";
      if (item) yasgui.getTab().setQuery(item.query);
    });
  } else {
    select.addEventListener("change", function () {
      var item = example(select.value);
      description.textContent = item ? item.description : "";
      if (item) textarea.value = item.query;
    });
  }
})();
