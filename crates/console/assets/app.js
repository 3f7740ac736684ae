// The console's one script, built into the binary: the board's live feed. Each warning the
// platform raises or moves in the office's subtree arrives as a server-sent event and is put
// at the top of the live list; a newly raised card also counts on its department's row and
// turns its light. Without this script every page still works (it only adds liveness).
"use strict";
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var status = document.getElementById("live-status");
  var seen = {};
  function setStatus(which) {
    if (!status) return;
    status.textContent = status.getAttribute("data-" + which);
    status.className = "status" + (which === "live" ? " on" : "");
  }
  function text(w) {
    return w.level_label + " " + w.case_no + " " + w.department + " · " + w.rule_label +
      " · " + w.state_label + " · " + w.raised_at;
  }
  function count(w) {
    var row = document.querySelector('tr[data-dept="' + CSS.escape(w.department) + '"]');
    if (!row || w.state !== "state-raised") return;
    var cls = w.level === "level-red_card" ? "red" : w.level === "level-yellow_card" ? "yellow" : "reminder";
    var cell = row.querySelector("td.n." + cls);
    if (cell) cell.textContent = String(Number(cell.textContent) + 1);
    var light = row.querySelector(".light");
    var rank = { green: 0, yellow: 1, red: 2 };
    var now = row.className.replace("light-", "");
    if (cls !== "reminder" && light && rank[cls] > rank[now]) {
      light.className = "light " + cls;
      row.className = "light-" + cls;
      var label = row.querySelector(".light-text");
      var board = document.getElementById("board");
      if (label && board) label.textContent = board.getAttribute("data-" + cls);
    }
  }
  var after = live.getAttribute("data-after") || "";
  function connect() {
    var source = new EventSource("/events" + (after ? "?after=" + encodeURIComponent(after) : ""));
    source.onopen = function () { setStatus("live"); };
    source.addEventListener("warning", function (e) {
      var w = JSON.parse(e.data);
      after = w.position;
      var key = w.id + ":" + w.state;
      if (seen[key]) return;
      seen[key] = true;
      var li = document.createElement("li");
      li.className = "w " + w.level + " live-new";
      li.setAttribute("data-id", w.id);
      li.setAttribute("data-state", w.state);
      // The case number links to the case page, as on the drawn lists.
      var link = document.createElement("a");
      link.href = "/case/" + encodeURIComponent(w.case_no);
      link.textContent = w.case_no;
      var whole = text(w);
      var at = whole.indexOf(w.case_no);
      li.appendChild(document.createTextNode(whole.slice(0, at)));
      li.appendChild(link);
      li.appendChild(document.createTextNode(whole.slice(at + w.case_no.length)));
      live.insertBefore(li, live.firstChild);
      count(w);
    });
    source.onerror = function () {
      setStatus("lost");
      // EventSource retries by itself, but from its first URL: reconnect after the last seen.
      source.close();
      setTimeout(connect, 1000);
    };
  }
  connect();
})();
