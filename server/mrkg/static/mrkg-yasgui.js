// mrkg additions to YASGUI (loaded after yasgui.min.js, before mrkg-ui.js, which calls them):
// - the editor knows the prefixes the server predefines (no "Prefix 'ent' is not defined" marks on valid queries);
// - completion of the dataset's own entities, properties and classes, from GET /search/terms (nothing from the web);
// - links in the results to https://w3id.org/mrkg/... open this server's own pages.
(function () {
  "use strict";
  var BASE = "https://w3id.org/mrkg/";
  var terms = null;

  function loadTerms(url) {
    if (!terms) {
      terms = fetch(new URL(url, window.location.href).href, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; });
    }
    return terms;
  }

  // Prefixes: the query's own declarations win over the server's predefined ones.
  function allPrefixes(yasqe, predefined) {
    var out = {};
    for (var k in predefined) out[k] = predefined[k];
    var declared = yasqe.getPrefixesFromQuery();
    for (var d in declared) out[d] = declared[d];
    return out;
  }

  function knownPrefixesInMode(Yasqe, predefined) {
    var factory = Yasqe.modes && Yasqe.modes.sparql11;
    if (!factory || factory.mrkgWrapped) return;
    var wrapped = function (conf, spec) {
      var mode = factory(conf, spec);
      var start = mode.startState;
      mode.startState = function () {
        var state = start.apply(this, arguments);
        for (var name in predefined) if (state.prefixes[name] === undefined) state.prefixes[name] = predefined[name];
        return state;
      };
      return mode;
    };
    wrapped.mrkgWrapped = true;
    Yasqe.defineMode("sparql11", wrapped);
  }

  function preProcess(predefined) {
    return function (yasqe, token) {
      var text = token.string.trim();
      token.autocompletionString = text;
      if (text.indexOf("<") === 0) {
        token.autocompletionString = text.replace(/^</, "").replace(/>$/, "");
        return token;
      }
      var colon = text.indexOf(":");
      if (colon >= 0) {
        var prefixes = allPrefixes(yasqe, predefined);
        var name = text.slice(0, colon);
        if (prefixes[name] !== undefined) {
          token.tokenPrefix = name + ":";
          token.tokenPrefixUri = prefixes[name];
          token.autocompletionString = prefixes[name] + text.slice(colon + 1);
        }
      }
      return token;
    };
  }

  function postProcess(predefined) {
    return function (yasqe, token, suggestion) {
      var prefixes = allPrefixes(yasqe, predefined);
      if (token.tokenPrefix && token.tokenPrefixUri && suggestion.indexOf(token.tokenPrefixUri) === 0) {
        var local = suggestion.slice(token.tokenPrefixUri.length);
        if (/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(local)) return token.tokenPrefix + local;
      }
      // the longest predefined or declared namespace that gives a valid local name
      var best = null;
      for (var name in prefixes) {
        var ns = prefixes[name];
        if (suggestion.indexOf(ns) === 0 && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(suggestion.slice(ns.length)) &&
            (!best || ns.length > prefixes[best].length)) best = name;
      }
      return best ? best + ":" + suggestion.slice(prefixes[best].length) : "<" + suggestion + ">";
    };
  }

  function iriToken(token) {
    var s = token.string;
    return s.length > 0 && s[0] !== "?" && s[0] !== "$" && (s.indexOf(":") > 0 || s[0] === "<");
  }

  function registerCompleters(Yasqe, config) {
    if (Yasqe.Autocompleters["mrkg-entities"]) return;
    var predefined = config.prefixes || {};
    function getter(key) {
      return function () { return loadTerms(config.terms).then(function (doc) { return doc[key] || []; }); };
    }
    var common = { bulk: true, autoShow: false, persistenceId: null, preProcessToken: preProcess(predefined),
                   postProcessSuggestion: postProcess(predefined) };
    Yasqe.forkAutocompleter("class", Object.assign({}, common, { name: "mrkg-classes", get: getter("classes") }), false);
    Yasqe.forkAutocompleter("property", Object.assign({}, common, { name: "mrkg-properties", get: getter("properties"),
      isValidCompletionPosition: function (yasqe) {
        var token = yasqe.getCompleteToken();
        return iriToken(token) && token.state.possibleCurrent.indexOf("a") >= 0;
      } }), false);
    Yasqe.registerAutocompleter(Object.assign({}, common, { name: "mrkg-entities", get: getter("entities"),
      isValidCompletionPosition: function (yasqe) {
        var token = yasqe.getCompleteToken();
        if (!iriToken(token) || token.state.possibleCurrent.indexOf("a") >= 0) return false;  // not a predicate
        var previous = yasqe.getPreviousNonWsToken(yasqe.getDoc().getCursor().line, token);
        var last = previous && previous.state && previous.state.lastProperty;
        if (previous && /^PREFIX$/i.test(previous.string)) return false;
        return !(last === "a" || last === "rdf:type");  // classes go to mrkg-classes
      } }), false);
  }

  // Results: links to the dataset's IRIs go to this server's page for them.
  function localLinks(root) {
    function rewrite(scope) {
      var links = scope.querySelectorAll ? scope.querySelectorAll('a[href^="' + BASE + '"]') : [];
      for (var i = 0; i < links.length; i++) {
        var rest = links[i].getAttribute("href").slice(BASE.length);
        if (rest.indexOf("/") !== 0 && rest.indexOf("\\") !== 0) links[i].setAttribute("href", "/" + rest);
      }
    }
    rewrite(root);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) {
        for (var i = 0; i < m.addedNodes.length; i++) if (m.addedNodes[i].nodeType === 1) rewrite(m.addedNodes[i]);
      });
    }).observe(root, { childList: true, subtree: true });
  }

  window.mrkgYasguiExtras = {
    completers: ["variables", "mrkg-entities", "mrkg-properties", "mrkg-classes"],
    before: function (Yasgui, config) {
      knownPrefixesInMode(Yasgui.Yasqe, config.prefixes || {});
      registerCompleters(Yasgui.Yasqe, config);
    },
    after: function (yasgui, root) { localLinks(root); }
  };
})();
