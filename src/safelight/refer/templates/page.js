"use strict";
(function () {
  var D = __DATA__;
  var T = D.i18n, lang = "en", cache = {};
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function quickExit() {
    document.title = "";
    document.body.innerHTML = "";
    try { history.replaceState(null, "", "#"); } catch (e) {}
    window.location.replace(D.exit_url);
  }
  $("exit").addEventListener("click", quickExit);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") quickExit(); });
  function region(a2) {
    try { return new Intl.DisplayNames([lang], { type: "region" }).of(a2); } catch (e) { return a2; }
  }
  function langName(code) {
    try { return new Intl.DisplayNames([lang], { type: "language" }).of(code); } catch (e) { return code; }
  }
  function km(a, b, c, d) {
    var r = Math.PI / 180, x = Math.sin((c - a) * r / 2), y = Math.sin((d - b) * r / 2);
    var h = x * x + Math.cos(a * r) * Math.cos(c * r) * y * y;
    return 12742 * Math.asin(Math.sqrt(Math.min(1, h)));
  }
  function fill(sel, items, keep) {
    var old = keep ? sel.value : "";
    sel.textContent = "";
    items.forEach(function (it) { var o = el("option", null, it[1]); o.value = it[0]; sel.appendChild(o); });
    if (old) sel.value = old;
  }
  function tel(number, dial) {
    var a = el("a", "tel", number); a.href = "tel:" + dial; return a;
  }
  function hotlineBox(h) {
    var b = el("div", "box hot");
    b.appendChild(el("div", null, T[lang].hotline + " — " + region(D.a2[h.country] || h.country)));
    b.appendChild(el("div", null, h.name));
    b.appendChild(tel(h.number, h.dial));
    if (h.hours) b.appendChild(el("div", "hint", h.hours));
    if (h.note) { var n = el("div", "hint", h.note); n.lang = "en"; b.appendChild(n); }  // cost, who it is for (English, as cited)
    var s = el("small"); s.appendChild(document.createTextNode(T[lang].source + ": "));
    var a = el("a", null, h.source_title); a.href = h.source_url; a.rel = "noreferrer noopener"; s.appendChild(a);
    s.appendChild(document.createTextNode(" (" + h.retrieved + ")"));
    b.appendChild(s);
    return b;
  }
  function renderHotline() {
    var c = $("country").value, box = $("hotline"); box.textContent = "";
    var hs = D.hotlines.filter(function (h) { return h.country === c; });
    if (!hs.length) box.appendChild(el("div", "box", T[lang].no_hotline));
    hs.forEach(function (h) { box.appendChild(hotlineBox(h)); });
    var all = $("allhot"); all.textContent = "";
    D.hotlines.filter(function (h) { return h.country !== c; }).forEach(function (h) { all.appendChild(hotlineBox(h)); });
  }
  function card(s, dist) {
    var b = el("div", "box card");
    b.appendChild(el("h3", null, s.n));
    b.appendChild(el("p", "hint", s.o + (s.c ? " · " + s.c : "") + (dist != null ? " · " + Math.round(dist) + " " + T[lang].km : "")));
    var tags = el("p", "tags");
    s.d.forEach(function (n) { tags.appendChild(el("span", null, T[lang].needs[n] || n)); });
    b.appendChild(tags);
    if (s.k) b.appendChild(el("p", "conf", T[lang].confidential));
    if (s.a) b.appendChild(el("p", null, s.a));
    s.p.forEach(function (p) { var q = el("p"); q.appendChild(document.createTextNode(T[lang].call + ": ")); q.appendChild(tel(p[0], p[1])); b.appendChild(q); });
    if (s.l.length) b.appendChild(el("p", "hint", T[lang].languages + ": " + s.l.map(langName).join(", ")));
    if (s.h) b.appendChild(el("p", "hint", T[lang].hours + ": " + (s.h === "24/7" ? T[lang].open247 : s.h)));
    if (s.e) b.appendChild(el("p", "hint", s.e));
    return b;
  }
  function renderResults() {
    var c = $("country").value, out = $("results"); out.textContent = "";
    var p = D.places[c] && D.places[c][+$("place").value];
    var list = cache[c];
    if (!p || !list) return;
    var need = $("need").value;
    var rows = list.filter(function (s) { return !need || s.d.indexOf(need) >= 0; }).map(function (s) {
      return [s, s.y == null ? null : km(p[1], p[2], s.y, s.x)];
    }).filter(function (r) { return r[1] == null || r[1] <= D.max_km; });
    rows.sort(function (a, b) { return (a[1] == null ? 1e9 : a[1]) - (b[1] == null ? 1e9 : b[1]); });
    if (!rows.length) out.appendChild(el("p", null, T[lang].none));
    rows.slice(0, D.max_results).forEach(function (r) { out.appendChild(card(r[0], r[1])); });
  }
  function loadCountry() {
    var c = $("country").value;
    fill($("place"), (D.places[c] || []).map(function (p, i) { return [String(i), p[0]]; }));
    renderHotline();
    if (cache[c] || D.service_countries.indexOf(c) < 0) { cache[c] = cache[c] || []; renderResults(); return; }
    fetch("data/" + c + ".json", { credentials: "omit" }).then(function (r) { return r.json(); })
      .then(function (j) { cache[c] = j; renderResults(); }).catch(function () { cache[c] = []; renderResults(); });
  }
  function setLang(l) {
    lang = T[l] ? l : "en";
    var t = T[lang];
    document.documentElement.lang = lang;
    document.documentElement.dir = t.dir;
    document.title = t.title;
    Object.keys(t).forEach(function (k) { var e = $("t-" + k); if (e && typeof t[k] === "string") e.textContent = t[k]; });
    $("exit").textContent = t.exit;
    $("lang").value = lang;
    fill($("need"), [["", t.any_need]].concat(Object.keys(t.needs).map(function (k) { return [k, t.needs[k]]; })), true);
    var cs = D.countries.map(function (c) { return [c, region(D.a2[c] || c)]; });
    cs.sort(function (a, b) { return a[1].localeCompare(b[1], lang); });
    fill($("country"), cs, true);
    renderHotline(); renderResults();
  }
  fill($("lang"), Object.keys(T).map(function (k) { return [k, T[k].name]; }));
  $("lang").addEventListener("change", function () { setLang(this.value); });
  $("country").addEventListener("change", loadCountry);
  $("place").addEventListener("change", renderResults);
  $("need").addEventListener("change", renderResults);
  var want = (new URLSearchParams(location.search).get("lang") || (navigator.language || "en")).slice(0, 2);
  setLang(want);
  var wantCountry = new URLSearchParams(location.search).get("country");
  if (wantCountry && D.countries.indexOf(wantCountry) >= 0) $("country").value = wantCountry;
  loadCountry();
  if ("serviceWorker" in navigator && /^https?:$/.test(location.protocol)) {
    navigator.serviceWorker.register("sw.js").catch(function () {});
  }
})();
