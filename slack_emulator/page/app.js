// The emulator page: a small Slack drawn from /emulator/state, driven through /emulator/*.
// Everything shown comes from the bot, so all text arrives escaped and drawn as Slack draws it.
"use strict";

const page = {
  user: new URLSearchParams(location.search).get("user") || localStorage.getItem("emulator-user") || "U0PAYER",
  where: localStorage.getItem("emulator-where") || "C0GENERAL",
  snapshot: null,
  version: -1,
  drafts: {}, // view id -> block id -> action id -> typed/picked value, kept across redraws
};

const $ = (id) => document.getElementById(id);

// ---- text ----------------------------------------------------------------------------
// The emulator draws every text object server-side (slack_emulator/mrkdwn.py) into `html`,
// already escaped; plain_text also comes as `shown`, for places that take no markup.

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function textHtml(obj) {
  if (!obj) return "";
  return typeof obj === "string" ? esc(obj) : obj.html ?? esc(obj.text);
}

function shown(obj) {
  return obj ? obj.shown ?? obj.text ?? "" : "";
}

function el(tag, attrs = {}, html = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  if (html) node.innerHTML = html;
  return node;
}

// ---- talking to the emulator ---------------------------------------------------------

async function api(path, body, { quiet = false } = {}) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: page.user, ...body }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) toast(answer.error || `HTTP ${response.status}`);
  else if (!quiet && answer.reply && answer.reply.error) toast(`The app answered with "${answer.reply.error}"`);
  await load();
  return answer;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

async function load() {
  const response = await fetch(`/emulator/state?user=${encodeURIComponent(page.user)}`);
  if (!response.ok) { toast(await response.text()); return; }
  page.snapshot = await response.json();
  page.version = page.snapshot.version;
  render();
}

async function watch() {
  for (;;) {
    try {
      const response = await fetch(`/emulator/changes?since=${page.version}`);
      const { version } = await response.json();
      if (version !== page.version) await load();
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---- interactive elements ------------------------------------------------------------

function sendAction(target, blockId, element, extra) {
  // A click in a modal carries what is typed in its inputs so far, as Slack's view.state does.
  const modal = page.snapshot?.modal;
  const typed = modal && target.view_id === modal.id ? { values: inputValues(modal) } : {};
  return api("/emulator/action", { ...target, block_id: blockId, action_id: element.action_id, ...typed, ...extra });
}

function withConfirm(confirm, go) {
  if (!confirm) { go(); return; }
  const dialog = el("div", { class: "dialog confirm", role: "alertdialog" });
  dialog.append(el("header", {}, `<h2>${textHtml(confirm.title)}</h2>`));
  dialog.append(el("div", { class: "body" }, textHtml(confirm.text)));
  const footer = el("footer");
  const layer = el("div", { class: "overlay" });
  footer.append(el("button", { class: "btn", type: "button", onclick: () => layer.remove() }, textHtml(confirm.deny || { type: "plain_text", text: "Cancel" })));
  footer.append(el("button", { class: `btn ${confirm.style === "danger" ? "danger" : "primary"}`, type: "button", onclick: () => { layer.remove(); go(); } }, textHtml(confirm.confirm || { type: "plain_text", text: "Yes" })));
  dialog.append(footer);
  layer.append(dialog);
  document.body.append(layer);
}

function optionsOf(element) {
  return [...(element.options || []), ...(element.option_groups || []).flatMap((g) => g.options || [])];
}

function picked(ctx, blockId, element) { // current value(s) of a stateful element
  const draft = ctx.viewId && page.drafts[ctx.viewId]?.[blockId]?.[element.action_id];
  if (draft !== undefined && draft !== null) return draft;
  const entry = ctx.picks?.[blockId]?.[element.action_id];
  if (entry) {
    if (entry.selected_option !== undefined) return entry.selected_option?.value ?? null;
    if (entry.selected_options) return entry.selected_options.map((o) => o.value);
    if (entry.selected_date !== undefined) return entry.selected_date;
    if (entry.selected_users !== undefined) return entry.selected_users;
    if (entry.selected_user !== undefined) return entry.selected_user;
    if ("value" in entry) return entry.value;
  }
  if (element.initial_option) return element.initial_option.value;
  if (element.initial_options) return element.initial_options.map((o) => o.value);
  if (element.initial_users) return element.initial_users;
  if (element.initial_user) return element.initial_user;
  return element.initial_value ?? element.initial_date ?? null;
}

function remember(ctx, blockId, element, value) {
  if (!ctx.viewId) return;
  const view = (page.drafts[ctx.viewId] ||= {});
  (view[blockId] ||= {})[element.action_id] = value;
}

function elementNode(element, blockId, ctx) {
  // ctx: {target: {ts}|{view_id}, viewId, picks, local}; local = inside an input block of a modal
  const dispatch = (extra) => (ctx.local ? null : sendAction(ctx.target, blockId, element, extra));
  switch (element.type) {
    case "button": {
      const style = element.style ? ` ${element.style}` : "";
      return el("button", {
        class: `btn${style}${element.url ? " link" : ""}`, type: "button",
        onclick: () => withConfirm(element.confirm, () => {
          if (element.url) window.open(element.url, "_blank", "noopener");
          dispatch({ value: element.value });
        }),
      }, textHtml(element.text));
    }
    case "static_select": case "external_select": case "multi_static_select": {
      const multi = element.type.startsWith("multi");
      const select = el("select", { multiple: multi, "aria-label": shown(element.placeholder) || "Choose" });
      if (!multi) select.append(el("option", { value: "" }, esc(shown(element.placeholder) || "Choose…")));
      const current = picked(ctx, blockId, element);
      const chosen = Array.isArray(current) ? current : [current];
      for (const group of element.option_groups || [{ options: element.options || [] }]) {
        const holder = group.label ? el("optgroup", { label: shown(group.label) }) : select;
        for (const option of group.options || []) {
          holder.append(el("option", { value: option.value, selected: chosen.includes(option.value) }, esc(shown(option.text))));
        }
        if (holder !== select) select.append(holder);
      }
      select.addEventListener("change", () => {
        const value = multi ? [...select.selectedOptions].map((o) => o.value) : select.value || null;
        remember(ctx, blockId, element, value);
        if (value !== null) withConfirm(element.confirm, () => dispatch({ selected: value }));
      });
      return select;
    }
    case "users_select": case "multi_users_select": {
      const multi = element.type.startsWith("multi");
      const select = el("select", { multiple: multi, "aria-label": shown(element.placeholder) || "Choose people" });
      if (!multi) select.append(el("option", { value: "" }, esc(shown(element.placeholder) || "Choose…")));
      const current = picked(ctx, blockId, element);
      const chosen = Array.isArray(current) ? current : [current];
      for (const user of page.snapshot.users) {
        select.append(el("option", { value: user.id, selected: chosen.includes(user.id) }, esc(user.real_name)));
      }
      select.addEventListener("change", () => {
        const value = multi ? [...select.selectedOptions].map((o) => o.value) : select.value || null;
        remember(ctx, blockId, element, value);
        if (value !== null) dispatch({ selected: value });
      });
      return select;
    }
    case "overflow": {
      const box = el("span", { class: "overflow" });
      const menu = el("div", { class: "overflow-menu", hidden: true });
      for (const option of element.options || []) {
        menu.append(el("button", { type: "button", onclick: () => { menu.hidden = true; withConfirm(element.confirm, () => dispatch({ selected: option.value })); } }, textHtml(option.text)));
      }
      box.append(el("button", { class: "btn", type: "button", "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯"), menu);
      return box;
    }
    case "checkboxes": case "radio_buttons": {
      const multi = element.type === "checkboxes";
      const box = el("div", { class: "choices" });
      const current = picked(ctx, blockId, element);
      const chosen = Array.isArray(current) ? current : [current];
      const name = `${blockId}.${element.action_id}.${Math.random()}`;
      for (const option of optionsOf(element)) {
        const input = el("input", { type: multi ? "checkbox" : "radio", name, value: option.value, checked: chosen.includes(option.value) });
        input.addEventListener("change", () => {
          const value = multi ? [...box.querySelectorAll("input:checked")].map((i) => i.value) : option.value;
          remember(ctx, blockId, element, value);
          dispatch({ selected: value });
        });
        const label = el("label");
        label.append(input, el("span", {}, ` ${textHtml(option.text)}`));
        if (option.description) label.append(el("div", { class: "hint" }, textHtml(option.description)));
        box.append(label);
      }
      return box;
    }
    case "datepicker": {
      const input = el("input", { type: "date", value: picked(ctx, blockId, element) || "" });
      input.addEventListener("change", () => { remember(ctx, blockId, element, input.value); dispatch({ value: input.value }); });
      return input;
    }
    case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": {
      const value = picked(ctx, blockId, element) || "";
      const kind = { number_input: "number", email_text_input: "email", url_text_input: "url" }[element.type] || "text";
      const input = element.multiline ? el("textarea", { rows: 3 }) : el("input", { type: kind === "text" ? "text" : kind });
      input.value = value;
      if (element.placeholder) input.placeholder = shown(element.placeholder);
      input.addEventListener("input", () => remember(ctx, blockId, element, input.value));
      return input;
    }
    case "image":
      return el("img", { class: "accessory-image", src: element.image_url, alt: element.alt_text });
    default:
      return el("span", { class: "unsupported" }, `[${esc(element.type)} is not drawn by the emulator]`);
  }
}

// ---- blocks --------------------------------------------------------------------------

function blockNode(block, ctx, errors) {
  const id = block.block_id;
  switch (block.type) {
    case "header":
      return el("div", { class: "block" }, `<h3>${textHtml(block.text)}</h3>`);
    case "section": {
      const node = el("div", { class: "block section" });
      const body = el("div", {}, textHtml(block.text));
      if (block.fields) {
        const fields = el("div", { class: "fields" });
        for (const field of block.fields) fields.append(el("div", {}, textHtml(field)));
        body.append(fields);
      }
      node.append(body);
      if (block.accessory) node.append(elementNode(block.accessory, id, ctx));
      return node;
    }
    case "actions": {
      const row = el("div", { class: "block row" });
      for (const element of block.elements || []) row.append(elementNode(element, id, ctx));
      return row;
    }
    case "context": {
      const row = el("div", { class: "block context" });
      for (const item of block.elements || []) {
        row.append(item.type === "image" ? el("img", { src: item.image_url, alt: item.alt_text }) : el("span", {}, textHtml(item)));
      }
      return row;
    }
    case "divider":
      return el("hr", { class: "divider" });
    case "image": {
      const node = el("figure", { class: "block block-image" });
      if (block.title) node.append(el("figcaption", {}, textHtml(block.title)));
      node.append(el("img", { src: block.image_url, alt: block.alt_text }));
      return node;
    }
    case "input": {
      const node = el("div", { class: "block input-block" });
      const optional = block.optional ? ' <span class="optional">(optional)</span>' : "";
      node.append(el("label", { class: "label" }, textHtml(block.label) + optional));
      const local = !block.dispatch_action;
      node.append(elementNode(block.element, id, { ...ctx, local }));
      if (block.hint) node.append(el("div", { class: "hint" }, textHtml(block.hint)));
      if (errors && errors[id]) node.append(el("div", { class: "field-error", role: "alert" }, esc(errors[id])));
      return node;
    }
    case "markdown":
      return el("div", { class: "block" }, block.html ?? esc(block.text));
    case "rich_text":
      return el("div", { class: "block" }, esc(plainText(block.elements)).replace(/\n/g, "<br>"));
    default:
      return el("div", { class: "block unsupported" }, `[${esc(block.type)} block is not drawn by the emulator]`);
  }
}

function plainText(items) { // the words of a rich_text block, without its styling
  return (items || []).map((item) => item.text ?? (item.elements ? plainText(item.elements) : "")).join("");
}

function blocksNode(blocks, ctx, errors) {
  const holder = el("div");
  for (const block of blocks) holder.append(blockNode(block, ctx, errors));
  return holder;
}

// ---- screens -------------------------------------------------------------------------

function messageNode(message) {
  const node = el("div", { class: `message${message.ephemeral ? " ephemeral" : ""}` });
  if (message.ephemeral) node.append(el("div", { class: "only-you" }, "👁 Only visible to you"));
  const meta = el("div", { class: "meta" });
  meta.append(el("span", { class: "author" }, esc(message.author)));
  if (message.is_bot) meta.append(el("span", { class: "app-tag" }, "APP"));
  meta.append(el("span", { class: "time" }, esc(message.time)));
  if (message.edited) meta.append(el("span", { class: "edited" }, "(edited)"));
  node.append(meta);
  const ctx = { target: { ts: message.ts }, picks: message.picks };
  node.append(message.blocks.length ? blocksNode(message.blocks, ctx) : el("div", { class: "block" }, message.html));
  for (const file of message.files || []) {
    node.append(el("div", { class: "block file" }, `📄 <a href="${esc(file.url)}" download="${esc(file.name)}">${esc(file.title)}</a> <span class="time">${esc(file.name)}</span>`));
  }
  return node;
}

function renderSidebar(snapshot) {
  const channels = $("channels");
  const dms = $("dms");
  channels.replaceChildren();
  dms.replaceChildren();
  for (const channel of snapshot.channels) {
    const item = el("li");
    const label = channel.is_im ? `${channel.label} (DM)` : channel.label;
    item.append(el("button", { class: `nav-item${page.where === channel.id ? " active" : ""}`, type: "button", onclick: () => go(channel.id) }, esc(label)));
    (channel.is_im ? dms : channels).append(item);
  }
  $("home-tab").classList.toggle("active", page.where === "home");
}

function renderMain(snapshot) {
  const box = $("messages");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.replaceChildren();
  if (page.where === "home") {
    $("title").textContent = "invoicebot · Home";
    $("composer").hidden = true;
    if (!snapshot.home) box.append(el("p", { class: "empty" }, "The app has not published a Home tab for you yet."));
    else box.append(blocksNode(snapshot.home.blocks, { target: { view_id: snapshot.home.id }, viewId: null, picks: pickEntries(snapshot.home) }));
    return;
  }
  const channel = snapshot.channels.find((c) => c.id === page.where) || snapshot.channels[0];
  page.where = channel.id;
  $("title").textContent = channel.is_im ? `${channel.label} (direct message)` : channel.label;
  $("composer").hidden = false;
  if (!channel.messages.length) box.append(el("p", { class: "empty" }, "No messages yet. Try /invoices help."));
  // As Slack shows a channel: replies sit in their thread, under its first message.
  const tops = new Set(channel.messages.filter((m) => !m.thread_ts).map((m) => m.ts));
  const replies = {};
  for (const message of channel.messages) {
    if (message.thread_ts && tops.has(message.thread_ts)) (replies[message.thread_ts] ||= []).push(message);
  }
  for (const message of channel.messages) {
    if (message.thread_ts && tops.has(message.thread_ts)) continue;
    box.append(messageNode(message));
    const thread = replies[message.ts];
    if (!thread) continue;
    const node = el("div", { class: "thread" });
    node.append(el("div", { class: "thread-count" }, `${thread.length} ${thread.length === 1 ? "reply" : "replies"}`));
    for (const reply of thread) node.append(messageNode(reply));
    box.append(node);
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function pickEntries(view) {
  return view.state?.values || {};
}

function renderModal(snapshot) {
  const overlay = $("overlay");
  const modal = snapshot.modal;
  overlay.replaceChildren();
  overlay.hidden = !modal;
  if (!modal) return;
  const dialog = el("form", { class: "dialog", role: "dialog", "aria-modal": "true" });
  const header = el("header");
  const title = el("div", {}, `<h2>${textHtml(modal.title)}</h2>`);
  if (modal.depth > 1) title.append(el("div", { class: "depth" }, `View ${modal.depth} of ${modal.depth}`));
  header.append(title, el("button", { class: "x", type: "button", "aria-label": "Close all", onclick: () => api("/emulator/close", { everything: true }) }, "×"));
  const ctx = { target: { view_id: modal.id }, viewId: modal.id, picks: pickEntries(modal) };
  const body = el("div", { class: "body" });
  body.append(blocksNode(modal.blocks, ctx, modal.errors));
  const footer = el("footer");
  footer.append(el("button", { class: "btn", type: "button", onclick: () => api("/emulator/close", {}) }, textHtml(modal.close || { type: "plain_text", text: "Cancel" })));
  if (modal.submit) footer.append(el("button", { class: "btn primary", type: "submit" }, textHtml(modal.submit)));
  dialog.addEventListener("submit", (event) => {
    event.preventDefault();
    api("/emulator/submit", { view_id: modal.id, values: inputValues(modal) });
  });
  dialog.append(header, body, footer);
  overlay.append(dialog);
}

function inputValues(modal) {
  const values = {};
  const drafts = page.drafts[modal.id] || {};
  for (const block of modal.blocks) {
    if (block.type !== "input") continue;
    const draft = drafts[block.block_id]?.[block.element.action_id];
    if (draft !== undefined) values[block.block_id] = { [block.element.action_id]: draft };
  }
  return values;
}

function render() {
  const snapshot = page.snapshot;
  $("team").textContent = snapshot.team.name;
  const who = $("user");
  who.replaceChildren(...snapshot.users.map((u) => el("option", { value: u.id, selected: u.id === page.user }, esc(`${u.real_name}${u.is_admin ? " (admin)" : ""}`))));
  renderSidebar(snapshot);
  renderMain(snapshot);
  renderModal(snapshot);
}

function go(where) {
  page.where = where;
  localStorage.setItem("emulator-where", where);
  if (where === "home") api("/emulator/home", {}, { quiet: true }); // Slack shows no event errors
  else render();
}

// ---- wiring --------------------------------------------------------------------------

$("user").addEventListener("change", (event) => {
  page.user = event.target.value;
  localStorage.setItem("emulator-user", page.user);
  page.drafts = {};
  load();
});
$("home-tab").addEventListener("click", () => go("home"));
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("input");
  const text = input.value.trim();
  if (!text) return;
  if (!text.startsWith("/")) { toast("The emulator only sends slash commands, e.g. /invoices help"); return; }
  input.value = "";
  api("/emulator/command", { channel: page.where, text });
});

load().then(watch);
