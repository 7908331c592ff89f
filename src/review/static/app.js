// The review page: plain modules, no build step. Text from the data goes in with textContent;
// only HTML the server rendered from markdown (raw HTML escaped) goes in with innerHTML.

const params = new URLSearchParams(location.search);
const token = params.get("token") ?? sessionStorage.getItem("review-token") ?? "";
if (params.has("token")) {
  sessionStorage.setItem("review-token", token);
  // Keep the token out of the address bar, history and screenshots.
  history.replaceState(null, "", location.pathname + location.hash);
}

const app = document.getElementById("app");
const nav = document.getElementById("nav");
const saveState = document.getElementById("save-state");

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "html") node.innerHTML = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

async function api(method, path, body) {
  const response = await fetch(`/api${path}`, {
    method,
    headers: { "x-review-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
  return data;
}

let pendingSaves = 0;
function showSave(state, message) {
  saveState.className = state;
  saveState.textContent = message;
}
/** Runs a write and shows whether it is saved: "Saved" means the server stored it on disk. */
async function save(method, path, body) {
  pendingSaves += 1;
  showSave("saving", "Saving…");
  try {
    const result = await api(method, path, body);
    pendingSaves -= 1;
    if (pendingSaves === 0) showSave("saved", "Saved");
    return result;
  } catch (error) {
    pendingSaves -= 1;
    showSave("failed", `Not saved: ${error.message}`);
    throw error;
  }
}
window.addEventListener("beforeunload", (event) => {
  if (pendingSaves > 0) event.preventDefault();
});

function chip(text, kind = "") {
  return element("span", { class: `chip ${kind}` }, text);
}

function route() {
  const [path, query] = location.hash.slice(1).split("?");
  return { path: path || "/", query: new URLSearchParams(query ?? "") };
}
function go(path, query = {}) {
  const search = new URLSearchParams(query).toString();
  location.hash = `#${path}${search ? `?${search}` : ""}`;
}

// ---------- translations ----------

async function renderTranslations(session, { query }) {
  const lang = query.get("lang") ?? session.languages[0];
  const filter = query.get("flag") ?? "";
  const show = query.get("show") ?? (session.flagKinds.length ? "flagged" : "all");
  const queue = await api("GET", `/translations/queue?${new URLSearchParams({ lang, flag: filter, show })}`);
  const id = query.get("id") ?? queue.items[0]?.id;
  const base = { lang, flag: filter, show };

  nav.replaceChildren(
    element("label", {}, "Language ", element("select", { id: "lang", onchange: (event) => go("/", { ...base, lang: event.target.value }) }, session.languages.map((code) => element("option", { value: code, selected: code === lang }, code)))),
    element("label", {}, "Show ", element("select", { id: "filter", onchange: (event) => {
      const value = event.target.value;
      go("/", value.startsWith("flag:") ? { ...base, flag: value.slice(5), show: "flagged" } : { ...base, flag: "", show: value });
    } },
      element("option", { value: "flagged", selected: !filter && show === "flagged" }, "flagged items"),
      element("option", { value: "open", selected: !filter && show === "open" }, "not yet reviewed"),
      element("option", { value: "all", selected: !filter && show === "all" }, "all items"),
      session.flagKinds.map((kind) => element("option", { value: `flag:${kind}`, selected: filter === kind }, `flag: ${kind}`)),
    )),
    element("span", { class: "criteria" }, `${queue.items.length} in queue · ${queue.reviewed} reviewed · ${queue.corrected} corrected`),
  );

  const list = element("nav", { class: "queue", "aria-label": "queue" }, queue.items.map((item) =>
    element("a", { href: `#/?${new URLSearchParams({ ...base, id: item.id })}`, class: item.id === id ? "current" : "" },
      item.id, " ", item.flags.map((kind) => chip(kind)), item.status ? chip(item.status, item.status) : null, item.corrected ? chip("corrected", "corrected") : null),
  ));
  if (!id) {
    app.replaceChildren(element("div", { class: "layout" }, list, element("p", {}, "Nothing in this queue.")));
    return;
  }
  const item = await api("GET", `/translations/item?${new URLSearchParams({ lang, id })}`);
  const next = () => {
    const index = queue.items.findIndex((entry) => entry.id === id);
    const following = queue.items.slice(index + 1).find((entry) => !entry.status) ?? queue.items[index + 1];
    if (following) go("/", { ...base, id: following.id });
  };
  app.replaceChildren(element("div", { class: "layout" }, list, renderItem(session, item, next)));
}

function renderItem(session, item, next) {
  const messages = (list) => list.map((message) => element("div", { class: "message" }, element("div", { class: "role" }, message.role), element("div", { html: message.html })));
  const sideBySide = element("div", { class: "side-by-side" },
    element("section", { class: "panel", "aria-label": "source" }, element("h3", {}, `Source (${session.from})`), messages(item.source)),
    element("section", { class: "panel", "aria-label": "translation" }, element("h3", {}, `Translation (${item.lang})`), messages(item.translation)),
  );
  const refresh = (updated) => {
    const replacement = renderItem(session, updated, next);
    container.replaceWith(replacement);
  };
  const note = element("input", { id: "status-note", placeholder: "note (why localise?)", value: item.status?.note ?? "", size: 30 });
  const setStatus = async (status) => refresh((await save("PUT", "/translations/status", { lang: item.lang, id: item.id, status, note: note.value })).item);
  const header = element("div", { class: "panel" },
    element("h2", {}, `${item.id} `, item.status ? chip(item.status.status, item.status.status) : null),
    element("p", {}, item.flags.length ? item.flags.map((flag) => chip(`${flag.kind}${flag.detail ? ` (${flag.detail})` : ""} · turn ${flag.turn + 1}`)) : "No quality flags."),
    element("div", { class: "actions" },
      element("button", { class: "primary", id: "accept", onclick: async () => { await setStatus("accepted"); next(); } }, "Accept and next"),
      element("button", { id: "localise", onclick: () => setStatus("localise"), title: "the task changes meaning in translation (spelling, rhymes, 'answer in English')" }, "Mark: localise"),
      note,
      element("button", { id: "clear-status", onclick: () => setStatus(null) }, "Clear"),
      element("button", { id: "next", onclick: next }, "Next →"),
    ),
  );
  const units = element("section", { class: "panel", "aria-label": "segments" },
    element("h3", {}, session.kind === "corpus" ? "Segments (a correction applies wherever the segment occurs)" : "Turns"),
    item.units.map((unit) => renderUnit(item, unit, refresh)),
  );
  const container = element("div", { id: "item", "data-id": item.id }, header, sideBySide, units);
  return container;
}

function renderUnit(item, unit, refresh) {
  const corrected = unit.correction !== null;
  const editor = element("textarea", { "data-unit": unit.unit, "aria-label": `translation of turn ${unit.turn + 1}, segment ${unit.segment + 1}`, placeholder: unit.machine === null ? "could not be told apart from its neighbours: type the whole translation of this segment" : "" });
  editor.value = unit.correction ?? unit.machine ?? "";
  let timer;
  let saved = editor.value;
  const commit = async () => {
    clearTimeout(timer);
    const text = editor.value;
    if (text === saved || text.trim() === "") return;
    saved = text;
    const result = await save("PUT", "/translations/correction", { lang: item.lang, id: item.id, unit: unit.unit, translation: text });
    if (document.activeElement !== editor) refresh(result.item);
  };
  // Every edit is saved at once (after a short pause in typing, and when leaving the field).
  editor.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(commit, 400);
  });
  editor.addEventListener("blur", commit);
  return element("div", { class: `unit ${unit.flags.length ? "flagged" : ""}` },
    element("div", {}, element("div", { class: "role" }, `turn ${unit.turn + 1} · segment ${unit.segment + 1} `, unit.flags.map((flag) => chip(flag.kind)), corrected ? chip("corrected", "corrected") : null), element("div", { html: unit.sourceHtml })),
    element("div", {}, editor, corrected ? element("button", { onclick: async () => refresh((await save("DELETE", "/translations/correction", { lang: item.lang, id: item.id, unit: unit.unit })).item) }, "Reset to machine translation") : null),
  );
}

// ---------- ratings ----------

async function renderRatings(session, { path, query }) {
  const rater = query.get("rater");
  nav.replaceChildren(...[
    element("a", { href: "#/" }, "Raters"),
    rater ? element("a", { href: `#/rate?rater=${encodeURIComponent(rater)}` }, `Rate as ${rater}`) : null,
    element("a", { href: "#/results" }, "Results"),
  ].filter(Boolean));
  if (path === "/results") return renderResults();
  if (path === "/rate" && rater) return renderTask(rater, query.get("position"));
  const name = element("input", { id: "rater-name", placeholder: "your name", pattern: "[\\p{L}\\p{N}_.\\-]{1,40}", required: true });
  const { raters } = await api("GET", "/session");
  app.replaceChildren(element("div", { class: "panel" },
    element("h2", {}, "Who is rating?"),
    element("p", { class: "criteria" }, `${session.tasks} tasks in ${session.lang}. Model names are hidden and each rater sees the tasks in an order of their own.`),
    element("form", { class: "actions", onsubmit: async (event) => {
      event.preventDefault();
      await save("POST", "/raters", { name: name.value });
      go("/rate", { rater: name.value });
    } }, name, element("button", { class: "primary", type: "submit", id: "start" }, "Start rating")),
    raters.length ? element("p", {}, "Continue as: ", raters.map((existing) => element("a", { href: `#/rate?rater=${encodeURIComponent(existing)}`, class: "rater-link" }, existing))) : null,
  ));
}

async function renderTask(rater, position) {
  const task = await api("GET", `/ratings/task?${new URLSearchParams({ rater, position: position ?? "next" })}`);
  if (task.done) {
    app.replaceChildren(element("div", { class: "panel", id: "done" }, element("h2", {}, `All ${task.total} tasks rated. Thank you, ${rater}!`), element("a", { href: "#/results" }, "See the results")));
    return;
  }
  const goTo = (offset) => go("/rate", { rater, position: String(task.position + offset) });
  const conversation = (answers) => task.questions.flatMap((question, turn) => [
    element("div", { class: "message" }, element("div", { class: "role" }, `user · turn ${turn + 1}`), element("div", { html: question })),
    element("div", { class: "message" }, element("div", { class: "role" }, "assistant"), element("div", { html: answers[turn] ?? "" })),
  ]);
  let body;
  if (task.kind === "single") {
    body = [
      element("section", { class: "panel", "aria-label": "conversation" }, conversation(task.answers[0])),
      element("div", { class: "panel" },
        element("p", {}, `Rate the assistant's answer in turn ${task.turn}.`),
        element("div", { class: "actions scores" }, Array.from({ length: 10 }, (_, index) => index + 1).map((score) =>
          element("button", { class: task.given === score ? "chosen" : "", "data-score": score, onclick: async () => {
            await save("PUT", "/ratings/score", { rater, task: task.id, score });
            goTo(1);
          } }, String(score)))),
      ),
    ];
  } else {
    body = [
      element("div", { class: "side-by-side" },
        element("section", { class: "panel", "aria-label": "assistant A" }, element("h3", {}, "Assistant A"), conversation(task.answers[0])),
        element("section", { class: "panel", "aria-label": "assistant B" }, element("h3", {}, "Assistant B"), conversation(task.answers[1])),
      ),
      element("div", { class: "panel" },
        element("p", {}, `Which assistant answered turn ${task.turn} better?`),
        element("div", { class: "actions" }, [["A", "A is better"], ["tie", "Tie"], ["B", "B is better"]].map(([choice, label]) =>
          element("button", { class: task.given === choice ? "chosen" : "", "data-choice": choice, onclick: async () => {
            await save("PUT", "/ratings/vote", { rater, task: task.id, choice });
            goTo(1);
          } }, label))),
      ),
    ];
  }
  app.replaceChildren(element("div", { id: "task", "data-kind": task.kind },
    element("div", { class: "panel" },
      element("h2", {}, `Task ${task.position + 1} of ${task.total}`),
      element("p", {}, chip(task.category), ` rater: ${rater}`),
      element("p", { class: "criteria" }, task.criteria),
      element("div", { class: "actions" },
        element("button", { id: "previous", disabled: task.position === 0, onclick: () => goTo(-1) }, "← Previous"),
        element("button", { id: "skip", onclick: () => goTo(1) }, "Skip →"),
        element("button", { onclick: () => go("/rate", { rater, position: "next" }) }, "Next unrated")),
    ),
    body,
  ));
}

function formatNumber(value, digits = 3) {
  return value === null || value === undefined ? "–" : value.toFixed(digits);
}

async function renderResults() {
  const results = await api("GET", "/ratings/results");
  const table = (headers, rows) => element("table", {}, element("tr", {}, headers.map((header) => element("th", {}, header))), rows.map((row) => element("tr", {}, row.map((cell) => element("td", {}, cell)))));
  app.replaceChildren(element("div", { id: "results" },
    element("section", { class: "panel" }, element("h2", {}, `Progress (${results.lang})`),
      table(["rater", `scores (of ${results.totals.single})`, `votes (of ${results.totals.pair})`], results.progress.map((row) => [row.rater, row.single, row.pair]))),
    element("section", { class: "panel" }, element("h2", {}, "Inter-rater agreement"),
      results.interRater.length
        ? table(["raters", "answers both scored", "Pearson", "Spearman", "Kendall τ-b", "mean |Δ|", "votes both gave", "same vote"],
          results.interRater.map((row) => [row.raters.join(" – "), row.count, formatNumber(row.pearson), formatNumber(row.spearman), formatNumber(row.kendallTauB), formatNumber(row.meanAbsoluteDifference, 2), row.votesCompared, row.voteAgreement === null ? "–" : `${(row.voteAgreement * 100).toFixed(0)}%`]))
        : element("p", {}, "Needs two raters.")),
    element("section", { class: "panel", id: "judge-human" }, element("h2", {}, "Judge-human agreement"),
      results.judgeHuman
        ? table(["answers paired", "Pearson", "Spearman", "Kendall τ-b", "human ratings without a judgment"], [[results.judgeHuman.count, formatNumber(results.judgeHuman.pearson), formatNumber(results.judgeHuman.spearman), formatNumber(results.judgeHuman.kendallTauB), results.judgeHuman.unmatched]])
        : element("p", {}, "Start the session with --judgments to compare with the judge.")),
  ));
}

// ---------- start ----------

async function render() {
  try {
    const session = await api("GET", "/session");
    if (session.mode === "translations") await renderTranslations(session, route());
    else await renderRatings(session, route());
  } catch (error) {
    app.replaceChildren(element("p", { class: "error", role: "alert" }, error.message));
  }
}
window.addEventListener("hashchange", render);
render();
