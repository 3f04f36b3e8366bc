// vwall console: a thin client of the control protocol over /ws (docs/console.md).
// No framework, no build step, no network fetch beyond this wall. Every string that comes
// from the wall file or a camera is put on the page with textContent, never as HTML.
'use strict';

const T = {
  en: {
    disconnected: 'disconnected', connected: 'connected', logout: 'log out', scenes: 'Scenes',
    push: 'Push…', pop: 'Pop', clear: 'Clear', save: 'Save…', stack: 'Incident stack',
    events: 'Events', tile: 'Tile', reconnect: 'Reconnect', reset: 'Reset', show_url: 'Show URL',
    cameras: 'Cameras', search: 'name, id or group', all_states: 'all states', st_live: 'live',
    st_stalled: 'stalled', st_offline: 'offline', st_connecting: 'connecting', st_idle: 'idle',
    login_title: 'Log in to the wall', token: 'Seat token', login: 'Log in',
    push_title: 'Push an incident scene', scene: 'Scene', priority: 'Priority',
    ttl: 'Time to live (s, 0: until popped)', push_ok: 'Push', cancel: 'Cancel',
    save_title: 'Save the wall as a scene', scene_id: 'Scene id', scene_name: 'Name', save_ok: 'Save',
    base: 'base', pushed: 'pushed', saved: 'saved', showing: 'showing', empty_stack: 'none',
    camera: 'Camera', state: 'State', fps: 'fps', resolution: 'Resolution', age: 'Last frame',
    reconnects: 'Reconnects', error: 'Last error', assigned_by: 'Assigned by', group: 'Group',
    wrong_token: 'Refused: wrong token', forbidden: 'Your seat may not do that', of: 'of',
    not_supported: 'This wall does not support that yet', until_popped: 'until popped',
    all_groups: 'all groups', ungrouped: '(no group)', read_only: 'read-only',
    reload: 'Reload wall file', reload_failed: 'reload failed; the wall keeps the old file',
    not_a_url: 'Drop a stream address (rtsp://…) onto a tile',
  },
  zh: {
    disconnected: '未连接', connected: '已连接', logout: '退出', scenes: '场景',
    push: '推送…', pop: '弹出', clear: '清除', save: '保存…', stack: '事件栈',
    events: '事件', tile: '窗口', reconnect: '重连', reset: '复位', show_url: '显示地址',
    cameras: '摄像机', search: '名称、编号或分组', all_states: '全部状态', st_live: '在线',
    st_stalled: '卡顿', st_offline: '离线', st_connecting: '连接中', st_idle: '空闲',
    login_title: '登录视频墙', token: '席位令牌', login: '登录',
    push_title: '推送事件场景', scene: '场景', priority: '优先级',
    ttl: '持续时间（秒，0：直到弹出）', push_ok: '推送', cancel: '取消',
    save_title: '将当前画面保存为场景', scene_id: '场景编号', scene_name: '名称', save_ok: '保存',
    base: '基础', pushed: '已推送', saved: '已保存', showing: '正在显示', empty_stack: '无',
    camera: '摄像机', state: '状态', fps: '帧率', resolution: '分辨率', age: '最新帧',
    reconnects: '重连次数', error: '最近错误', assigned_by: '指派人', group: '分组',
    wrong_token: '拒绝：令牌错误', forbidden: '您的席位无权执行此操作', of: '共',
    not_supported: '此视频墙尚不支持该操作', until_popped: '直到弹出',
    all_groups: '全部分组', ungrouped: '（未分组）', read_only: '只读',
    reload: '重新加载配置', reload_failed: '重新加载失败，视频墙保持原配置',
    not_a_url: '请将视频流地址（rtsp://…）拖到窗口上',
  },
};

const $ = (id) => document.getElementById(id);
const PAGE = 50;

const S = {
  lang: localStorage.getItem('vwall.lang') || (/^zh/i.test(navigator.language) ? 'zh' : 'en'),
  ws: null, nextId: 1, waiting: new Map(), ticket: '', loggedIn: false, retry: 500,
  layout: null, status: null, scenes: [], tiles: [], hasTileList: true, picks: {},
  sources: new Map(), // id → last known source object
  catalog: { offset: 0, total: 0, paged: true, items: [] },
  group: '', selected: null, stackAt: 0, picture: null, pictureBusy: false,
};

// ---- text -------------------------------------------------------------------------------

function t(key) { return (T[S.lang] && T[S.lang][key]) || T.en[key] || key; }

function applyLang() {
  document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]'))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  $('lang').textContent = S.lang === 'zh' ? 'English' : '中文';
  if (S.loggedIn) buildGroups();
  renderAll();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function toast(msg, info) {
  const d = el('div', info ? 'toast info' : 'toast', msg);
  $('toasts').appendChild(d);
  setTimeout(() => d.remove(), 5000);
}

// ---- protocol ---------------------------------------------------------------------------

function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  const ws = new WebSocket(url);
  S.ws = ws;
  ws.onopen = () => {
    S.retry = 500;
    setConn(true);
    call('status').then(async (r) => {
      if (r.ok) { loggedIn(r); return; }
      if (r.error !== 'unauthorized') return;
      const saved = sessionStorage.getItem('vwall.token');
      if (saved && (await call('auth', { token: saved })).ok) {
        const st = await call('status');
        if (st.ok) { loggedIn(st); return; }
      }
      showLogin('');
    });
  };
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch (e) { return; }
    if (msg.event) { onEvent(msg); return; }
    const w = msg.id !== undefined && S.waiting.get(msg.id);
    if (w) { S.waiting.delete(msg.id); w(msg); }
  };
  ws.onclose = () => {
    setConn(false);
    for (const w of S.waiting.values()) w({ ok: false, error: 'disconnected' });
    S.waiting.clear();
    S.loggedIn = false;
    setTimeout(connect, S.retry);
    S.retry = Math.min(S.retry * 2, 5000);
  };
}

function setConn(up) {
  const c = $('conn');
  c.className = up ? 'conn-up' : 'conn-down';
  c.dataset.i18n = up ? 'connected' : 'disconnected';
  c.textContent = t(c.dataset.i18n);
}

// One request; resolves with its reply (never rejects).
function call(cmd, args) {
  return new Promise((resolve) => {
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
      resolve({ ok: false, error: 'disconnected' });
      return;
    }
    const id = S.nextId++;
    S.waiting.set(id, resolve);
    S.ws.send(JSON.stringify(Object.assign({ id, cmd }, args || {})));
  });
}

// A request an operator asked for: errors become a toast.
async function act(cmd, args) {
  const r = await call(cmd, args);
  if (!r.ok) {
    if (r.error === 'forbidden') toast(t('forbidden') + (r.message ? ': ' + r.message : ''));
    else if (r.error === 'unknown_command') toast(t('not_supported') + ' (' + cmd + ')');
    else toast(cmd + ': ' + (r.message || r.error));
  }
  return r;
}

// ---- login ------------------------------------------------------------------------------

function showLogin(err) {
  $('login').hidden = false;
  $('login-error').textContent = err;
  $('login-btn').disabled = false;
  $('token').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-btn').disabled = true;
  $('login-error').textContent = '';
  const r = await call('auth', { token: $('token').value });
  if (r.ok) {
    sessionStorage.setItem('vwall.token', $('token').value);
    const st = await call('status');
    if (st.ok) loggedIn(st);
  } else {
    showLogin(r.error === 'unauthorized' ? t('wrong_token') : (r.message || r.error));
  }
});

// Reload: a failure is not an event, so its file:line errors go into this console's feed.
$('reload').addEventListener('click', async () => {
  const r = await call('config.reload');
  if (r.ok) return;
  if (r.error === 'config_error') {
    addEvent({ event: 'config.reload', message: t('reload_failed'), errors: r.errors || [r.message] });
  } else {
    toast('config.reload: ' + (r.message || r.error));
  }
});

$('logout').addEventListener('click', () => {
  sessionStorage.removeItem('vwall.token');
  S.ticket = '';
  if (S.ws) S.ws.close();
});

async function loggedIn(status) {
  S.loggedIn = true;
  $('login').hidden = true;
  $('logout').hidden = false;
  $('reload').hidden = false;
  await call('subscribe', { events: ['*'] });
  S.layout = await fetchJSON('/layout.json');
  if (S.layout) $('wall-name').textContent = S.layout.name;
  onStatus(status);
  await Promise.all([refreshScenes(), refreshTiles(), refreshSources(true)]);
  await queryCatalog();
  renderAll();
}

async function fetchJSON(path) {
  try {
    const r = await fetch(withTicket(path), { cache: 'no-store' });
    return r.ok ? await r.json() : null;
  } catch (e) { return null; }
}

function withTicket(path) {
  if (!S.ticket) return path;
  return path + (path.includes('?') ? '&' : '?') + 'ticket=' + encodeURIComponent(S.ticket);
}

// ---- state from the wall ----------------------------------------------------------------

function onStatus(st) {
  S.status = st;
  S.stackAt = performance.now();
  const fps = st.render_fps !== undefined ? st.render_fps + ' fps' : '';
  const lat = st.latency_p99_ms != null ? ' · p99 ' + st.latency_p99_ms + ' ms' : '';
  const ov = st.overloaded ? ' · OVERLOADED' : '';
  $('wall-stats').textContent = fps + lat + ov + (st.clients ? ' · ' + st.clients + ' clients' : '');
}

async function refreshStatus() {
  const r = await call('status');
  if (r.ok) onStatus(r);
}

async function refreshScenes() {
  const r = await call('scene.list');
  if (r.ok) S.scenes = r.scenes || [];
}

async function refreshTiles() {
  if (S.hasTileList) {
    const r = await call('tile.list');
    if (r.ok) { S.tiles = r.tiles || []; return; }
    if (r.error === 'unknown_command') S.hasTileList = false;
  }
  // A wall without tile.list: the scene's tiles from the wall file, with the picks seen.
  const scene = S.status && S.layout && S.layout.scenes.find((s) => s.id === S.status.scene);
  const picks = (S.status && S.picks[S.status.scene]) || {};
  S.tiles = scene ? scene.tiles.map((tl) => ({
    index: tl.index, id: tl.id, rect: tl.rect, configured_source: tl.source,
    source: picks[tl.index] ? picks[tl.index].source : tl.source,
    assigned_by: picks[tl.index] ? picks[tl.index].by : null,
  })) : [];
}

// Sources for the mimic and the tile panel (names, states, ages, fps). On a wall whose
// source.list pages (a catalog of thousands), the whole list is read only at login and
// after a reload (names, the group tree); each second then only the stalled ones (their
// age) and the selected tile's camera. A small wall without paging is read whole.
async function refreshSources(full) {
  if (full || !S.catalog.paged) {
    const r = await call('source.list');
    if (!r.ok) return;
    S.sources = new Map((r.sources || []).map((x) => [x.id, x]));
    buildGroups();
    return;
  }
  const asks = [call('source.list', { state: 'stalled' })];
  const tl = S.tiles.find((x) => x.index === S.selected);
  if (tl && tl.source) asks.push(call('source.list', { query: tl.source, limit: 20 }));
  for (const r of await Promise.all(asks)) {
    for (const x of (r.ok && r.sources) || []) S.sources.set(x.id, Object.assign(S.sources.get(x.id) || {}, x));
  }
}

// ---- events -----------------------------------------------------------------------------

let pending = null;
function soon() { // coalesce refreshes caused by bursts of events
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    await Promise.all([refreshStatus(), refreshScenes()]);
    await refreshTiles();
    renderAll();
  }, 30);
}

function onEvent(ev) {
  if (ev.event === 'console.login') { S.ticket = ev.ticket; return; }
  addEvent(ev);
  switch (ev.event) {
    case 'scene.changed':
      if (S.status && ev.scene !== S.status.scene && !S.hasTileList) delete S.picks[S.status.scene];
      soon();
      break;
    case 'tile.assigned':
      if (!S.hasTileList && ev.scene) {
        (S.picks[ev.scene] = S.picks[ev.scene] || {})[ev.tile] = { source: ev.source, by: ev.by };
      }
      soon();
      break;
    case 'source.state': {
      const s = S.sources.get(ev.source) || { id: ev.source, name: ev.source };
      s.state = ev.state;
      if (ev.error !== undefined) s.error = ev.error;
      if (ev.group !== undefined) s.group = ev.group;
      S.sources.set(ev.source, s);
      for (const tl of S.tiles) if (tl.source === ev.source) tl.state = ev.state;
      renderMimic();
      renderCatalog();
      break;
    }
    case 'config.reloaded':
      fetchJSON('/layout.json').then(async (l) => {
        if (l) S.layout = l;
        await refreshSources(true);
        soon();
        queryCatalog();
      });
      break;
    default:
      soon();
  }
}

function addEvent(ev) {
  const li = el('li');
  li.appendChild(el('span', 't', new Date().toLocaleTimeString()));
  li.appendChild(el('span', 'name', ev.event));
  const parts = [];
  for (const k of ['scene', 'tile', 'source', 'state', 'file', 'reason']) {
    if (ev[k] !== undefined && ev[k] !== null) parts.push(k + '=' + ev[k]);
  }
  li.appendChild(el('span', null, ' ' + parts.join(' ')));
  if (ev.message) li.appendChild(el('span', null, ' ' + ev.message));
  if (ev.by) { li.appendChild(el('span', null, ' · ')); li.appendChild(el('span', 'by', ev.by)); }
  if (ev.error) li.appendChild(el('span', 'err', ev.error));
  for (const e of ev.errors || []) li.appendChild(el('span', 'err', e));
  li.dataset.event = ev.event;
  const list = $('events');
  list.insertBefore(li, list.firstChild);
  while (list.childNodes.length > 300) list.lastChild.remove();
}

// ---- scenes -----------------------------------------------------------------------------

function stackOf() {
  return (S.status && S.status.stack) || [];
}

function renderScenes() {
  const ol = $('scenes');
  const st = S.status || {};
  const stack = stackOf();
  const sig = JSON.stringify([S.lang, S.scenes, st.scene, st.base_scene, stack.map((e) => e.scene)]);
  if (ol.dataset.sig === sig) { renderStack(); return; }
  ol.dataset.sig = sig;
  ol.textContent = '';
  S.scenes.forEach((sc, i) => {
    const li = el('li');
    li.dataset.scene = sc.id;
    li.appendChild(el('span', 'key', i < 9 ? String(i + 1) : ''));
    li.appendChild(el('span', 'name', sc.name || sc.id));
    const showing = sc.showing !== undefined ? sc.showing : st.scene === sc.id;
    const base = sc.base !== undefined ? sc.base : st.base_scene === sc.id;
    const pushed = sc.stack !== undefined && sc.stack !== null ? true : stack.some((e) => e.scene === sc.id);
    if (showing) li.classList.add('showing');
    if (base) li.appendChild(el('span', 'badge base', t('base')));
    if (pushed) li.appendChild(el('span', 'badge pushed', t('pushed')));
    if (sc.saved) li.appendChild(el('span', 'badge saved', t('saved')));
    li.title = sc.id;
    li.addEventListener('click', () => act('scene.switch', { scene: sc.id }));
    ol.appendChild(li);
  });
  renderStack();
}

function renderStack() {
  const ol = $('stack');
  ol.textContent = '';
  const stack = stackOf();
  const gone = (performance.now() - S.stackAt) / 1000;
  if (!stack.length) ol.appendChild(el('li', 'dim', t('empty_stack')));
  stack.forEach((e) => {
    const li = el('li');
    li.dataset.stackScene = e.scene;
    const sc = S.scenes.find((s) => s.id === e.scene);
    li.appendChild(el('span', 'name', sc ? sc.name : e.scene));
    li.appendChild(el('span', 'prio', 'P' + e.priority));
    const left = e.ttl_left === null || e.ttl_left === undefined ? null : Math.max(0, e.ttl_left - gone);
    li.appendChild(el('span', 'ttl', left === null ? t('until_popped') : left.toFixed(1) + ' s'));
    ol.appendChild(li);
  });
}

$('push-btn').addEventListener('click', () => {
  const sel = $('push-scene');
  sel.textContent = '';
  for (const sc of S.scenes) {
    const o = el('option', null, sc.name || sc.id);
    o.value = sc.id;
    sel.appendChild(o);
  }
  $('push-dialog').hidden = false;
  sel.focus();
});
$('push-cancel').addEventListener('click', () => { $('push-dialog').hidden = true; });
$('push-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('push-dialog').hidden = true;
  await act('scene.push', {
    scene: $('push-scene').value, priority: parseInt($('push-priority').value || '0', 10),
    ttl: parseFloat($('push-ttl').value || '0'),
  });
});
$('pop-btn').addEventListener('click', () => {
  const stack = stackOf();
  if (stack.length) act('scene.pop', { scene: stack[0].scene });
});
$('clear-btn').addEventListener('click', async () => {
  const r = await call('scene.clear');
  if (r.ok) return;
  if (r.error !== 'unknown_command') { toast('scene.clear: ' + (r.message || r.error)); return; }
  for (const e of stackOf().slice()) await act('scene.pop', { scene: e.scene });
});
$('save-btn').addEventListener('click', () => { $('save-dialog').hidden = false; $('save-id').focus(); });
$('save-cancel').addEventListener('click', () => { $('save-dialog').hidden = true; });
$('save-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('save-dialog').hidden = true;
  const args = { scene: $('save-id').value };
  if ($('save-name').value) args.name = $('save-name').value;
  await act('scene.save', args);
  refreshScenes().then(renderScenes);
});

// ---- the wall mimic ---------------------------------------------------------------------

// Panel units → pixels of the mimic, with the bezels between panels.
function geometry() {
  const L = S.layout;
  if (!L) return null;
  const wrap = $('mimic-wrap');
  const pw = L.screen_w, ph = L.screen_h, bx = L.bezel_x, by = L.bezel_y;
  const vw = L.columns * pw + (L.columns - 1) * bx, vh = L.rows * ph + (L.rows - 1) * by;
  const k = Math.min((wrap.clientWidth - 8) / vw, (wrap.clientHeight - 8) / vh);
  const edge = (v, far, size, bez) => {
    let cell = Math.floor(v);
    let frac = v - cell;
    if (far && frac === 0 && cell > 0) { cell -= 1; frac = 1; }
    return (cell * (size + bez) + frac * size) * k;
  };
  return {
    k, w: vw * k, h: vh * k, pw: pw * k, ph: ph * k, bx: bx * k, by: by * k,
    x: (v, far) => edge(v, far, pw, bx), y: (v, far) => edge(v, far, ph, by),
  };
}

// A tile's camera name: tile.list's (it names ad-hoc cameras too, which the catalog read at
// login does not hold), else the catalog's, else the id.
function nameOf(tl) {
  const s = S.sources.get(tl.source);
  return tl.name || (s && s.name) || tl.source || '—';
}

function stateOf(id) {
  const s = S.sources.get(id);
  return (s && s.state) || 'idle';
}

function renderMimic() {
  const g = geometry();
  const m = $('mimic');
  if (!g) return;
  m.style.width = g.w + 'px';
  m.style.height = g.h + 'px';
  const L = S.layout;
  // Panels: rebuilt only when their count or size changes, so the picture stays.
  const key = [L.columns, L.rows, Math.round(g.w), Math.round(g.h)].join('x');
  if (m.dataset.key !== key) {
    m.textContent = '';
    m.dataset.key = key;
    for (let r = 0; r < L.rows; r++) {
      for (let c = 0; c < L.columns; c++) {
        const d = el('div', 'screen');
        d.dataset.panel = r * L.columns + c;
        d.style.left = c * (g.pw + g.bx) + 'px';
        d.style.top = r * (g.ph + g.by) + 'px';
        d.style.width = g.pw + 'px';
        d.style.height = g.ph + 'px';
        const cv = document.createElement('canvas');
        cv.width = Math.max(1, Math.round(g.pw));
        cv.height = Math.max(1, Math.round(g.ph));
        d.appendChild(cv);
        m.appendChild(d);
      }
    }
    drawPicture();
  }
  // Tiles: rebuilt only when what they show changed (keeps the page still under a pointer).
  const sig = JSON.stringify([key, S.selected, S.lang, S.tiles.map((tl) => {
    const s = S.sources.get(tl.source) || {};
    const age = s.state === 'stalled' && s.last_frame_age_ms != null ? Math.round(s.last_frame_age_ms / 1000) : 0;
    return [tl.index, tl.id, tl.rect, tl.source, tl.assigned_by, tl.state || s.state, nameOf(tl), age];
  })]);
  if (m.dataset.sig === sig) { renderTileInfo(); return; }
  m.dataset.sig = sig;
  for (const old of m.querySelectorAll('.tile')) old.remove();
  for (const tl of S.tiles) {
    const [x, y, w, h] = Array.isArray(tl.rect) ? tl.rect : [tl.rect.x, tl.rect.y, tl.rect.w, tl.rect.h];
    const d = el('div', 'tile');
    const state = tl.state || stateOf(tl.source);
    d.classList.add(state);
    if (S.selected === tl.index) d.classList.add('selected');
    d.dataset.tile = tl.index;
    if (tl.id) d.dataset.tileId = tl.id;
    d.dataset.source = tl.source || '';
    d.dataset.state = state;
    const x0 = g.x(x, false), y0 = g.y(y, false);
    d.style.left = x0 + 'px';
    d.style.top = y0 + 'px';
    d.style.width = g.x(x + w, true) - x0 + 'px';
    d.style.height = g.y(y + h, true) - y0 + 'px';
    const s = S.sources.get(tl.source);
    const label = el('div', 'label');
    label.appendChild(el('span', 'name', nameOf(tl)));
    let st = t('st_' + state);
    if (state === 'stalled' && s && s.last_frame_age_ms != null) st += ' ' + Math.round(s.last_frame_age_ms / 1000) + ' s';
    label.appendChild(el('span', 'state', st));
    if (tl.assigned_by) label.appendChild(el('span', 'picked', '✎ ' + tl.assigned_by));
    d.appendChild(label);
    d.title = (tl.id ? tl.id + ' · ' : '') + (tl.source || '');
    d.addEventListener('pointerdown', (e) => startDrag(e, { tile: tl.index, label: nameOf(tl) }));
    m.appendChild(d);
  }
  renderTileInfo();
}

function drawPicture() {
  const img = S.picture, L = S.layout;
  if (!img || !L) return;
  for (const d of $('mimic').querySelectorAll('.screen')) {
    const p = +d.dataset.panel, c = p % L.columns, r = Math.floor(p / L.columns);
    const sw = img.naturalWidth / L.columns, sh = img.naturalHeight / L.rows;
    const cv = d.firstChild;
    cv.getContext('2d').drawImage(img, c * sw, r * sh, sw, sh, 0, 0, cv.width, cv.height);
  }
}

// The live picture: /wall.jpg about three times a second while the page is visible.
function pollPicture() {
  setTimeout(pollPicture, 333);
  if (!S.loggedIn || S.pictureBusy || document.hidden || !S.layout) return;
  S.pictureBusy = true;
  const img = new Image();
  const width = Math.min(1280, Math.max(320, Math.round($('mimic').clientWidth * (window.devicePixelRatio || 1))));
  img.onload = () => { S.picture = img; S.pictureBusy = false; drawPicture(); $('mimic').dataset.pictures = (+($('mimic').dataset.pictures || 0) + 1); };
  img.onerror = () => { S.pictureBusy = false; };
  img.src = withTicket('/wall.jpg?width=' + width + '&n=' + Date.now());
}

function renderTileInfo() {
  const box = $('tile-info');
  const tl = S.tiles.find((x) => x.index === S.selected);
  if (!tl) { box.hidden = true; return; }
  box.hidden = false;
  $('ti-tile').textContent = '#' + tl.index + (tl.id ? ' ' + tl.id : '');
  const s = S.sources.get(tl.source) || {};
  const dl = $('ti-fields');
  dl.textContent = '';
  const row = (k, v) => { dl.appendChild(el('dt', null, t(k))); dl.appendChild(el('dd', null, v)); };
  row('camera', nameOf(tl) + (tl.source ? ' (' + tl.source + ')' : ''));
  row('state', t('st_' + (tl.state || stateOf(tl.source))));
  row('fps', s.fps != null ? s.fps : '—');
  row('resolution', s.width ? s.width + '×' + s.height : '—');
  row('age', s.last_frame_age_ms != null ? (s.last_frame_age_ms / 1000).toFixed(1) + ' s' : '—');
  row('reconnects', s.reconnects != null ? s.reconnects : '—');
  row('error', s.error || '—');
  if (s.group) row('group', s.group);
  if (tl.assigned_by) row('assigned_by', tl.assigned_by);
}

$('ti-reconnect').addEventListener('click', () => {
  const tl = S.tiles.find((x) => x.index === S.selected);
  if (tl && tl.source) act('source.reconnect', { source: tl.source });
});
$('ti-reset').addEventListener('click', () => {
  if (S.selected !== null) act('tile.reset', { tile: S.selected });
});
$('ti-url-btn').addEventListener('click', () => {
  const url = $('ti-url').value.trim();
  if (S.selected !== null && url) assignUrl(S.selected, url);
});

function assignUrl(tile, url) {
  return act('tile.assign', { tile, url });
}

const STREAM_URL = /^(rtsp|rtsps|rtmp|srt|https?|udp):\/\/\S+$/i;

// Pasting a stream URL anywhere (but into a field) shows it in the selected tile.
document.addEventListener('paste', (e) => {
  if (e.target instanceof HTMLInputElement || S.selected === null) return;
  const text = (e.clipboardData.getData('text') || '').trim();
  if (STREAM_URL.test(text)) {
    e.preventDefault();
    assignUrl(S.selected, text);
  }
});

// A stream URL dragged from another window (an NVR's web page, a list of addresses) and
// dropped onto a tile shows there. The browser's own drag and drop: only text is taken.
function droppedUrl(dt) {
  const lines = (dt.getData('text/uri-list') || dt.getData('text/plain') || '').split(/\r?\n/);
  const url = (lines.find((l) => l.trim() && !l.startsWith('#')) || '').trim();
  return STREAM_URL.test(url) ? url : null;
}

function carriesText(dt) {
  return dt && [...dt.types].some((ty) => ty === 'text/uri-list' || ty === 'text/plain');
}

$('mimic').addEventListener('dragover', (e) => {
  const tile = e.target.closest('.tile');
  if (!tile || !carriesText(e.dataTransfer)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
  for (const d of document.querySelectorAll('.tile.drop')) if (d !== tile) d.classList.remove('drop');
  tile.classList.add('drop');
});
$('mimic').addEventListener('dragleave', (e) => {
  const tile = e.target.closest('.tile');
  if (tile && !tile.contains(e.relatedTarget)) tile.classList.remove('drop');
});
$('mimic').addEventListener('drop', (e) => {
  const tile = e.target.closest('.tile');
  if (!tile || !carriesText(e.dataTransfer)) return;
  e.preventDefault();
  tile.classList.remove('drop');
  const url = droppedUrl(e.dataTransfer);
  if (url) assignUrl(+tile.dataset.tile, url);
  else toast(t('not_a_url'));
});

// ---- dragging: a camera onto a tile, a tile onto a tile (pointer events, not HTML5 DnD) --

let drag = null;
function startDrag(e, what) {
  if (e.button !== 0) return;
  drag = { what, x: e.clientX, y: e.clientY, moved: false };
}

document.addEventListener('pointermove', (e) => {
  if (!drag) return;
  if (!drag.moved && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) < 6) return;
  drag.moved = true;
  const g = $('ghost');
  g.hidden = false;
  g.textContent = drag.what.label || '';
  g.style.left = e.clientX + 10 + 'px';
  g.style.top = e.clientY + 10 + 'px';
  for (const d of document.querySelectorAll('.tile.drop')) d.classList.remove('drop');
  const over = tileAt(e.clientX, e.clientY);
  if (over) over.classList.add('drop');
});

document.addEventListener('pointerup', (e) => {
  if (!drag) return;
  const d = drag;
  drag = null;
  $('ghost').hidden = true;
  for (const x of document.querySelectorAll('.tile.drop')) x.classList.remove('drop');
  if (!d.moved) {
    if (d.what.tile !== undefined) { S.selected = S.selected === d.what.tile ? null : d.what.tile; renderMimic(); }
    return;
  }
  const over = tileAt(e.clientX, e.clientY);
  if (!over) return;
  const to = +over.dataset.tile;
  if (d.what.source !== undefined) act('tile.assign', { tile: to, source: d.what.source });
  else if (d.what.tile !== undefined && d.what.tile !== to) swapTiles(d.what.tile, to);
});

function tileAt(x, y) {
  const hit = document.elementFromPoint(x, y);
  return hit ? hit.closest('.tile') : null;
}

async function swapTiles(a, b) {
  const r = await call('tile.swap', { a, b });
  if (r.ok) return;
  if (r.error !== 'unknown_command') { toast('tile.swap: ' + (r.message || r.error)); return; }
  // A wall without tile.swap: two assigns.
  const ta = S.tiles.find((x) => x.index === a), tb = S.tiles.find((x) => x.index === b);
  if (!ta || !tb) return;
  await act('tile.assign', { tile: a, source: tb.source });
  await act('tile.assign', { tile: b, source: ta.source });
}

// ---- cameras ----------------------------------------------------------------------------

let searchTimer = null;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { S.catalog.offset = 0; queryCatalog(); }, 150);
});
$('state-filter').addEventListener('change', () => { S.catalog.offset = 0; queryCatalog(); });
$('prev-page').addEventListener('click', () => {
  S.catalog.offset = Math.max(0, S.catalog.offset - PAGE);
  queryCatalog();
});
$('next-page').addEventListener('click', () => {
  if (S.catalog.offset + PAGE < S.catalog.total) { S.catalog.offset += PAGE; queryCatalog(); }
});

function matches(s, q, state, group) {
  if (state && s.state !== state) return false;
  if (group && !(s.group || '').startsWith(group)) return false;
  if (!q) return true;
  q = q.toLowerCase();
  return [s.id, s.name, s.group].some((v) => v && String(v).toLowerCase().includes(q));
}

// One page of source.list (query, state, group, offset, limit); a wall whose source.list
// takes no arguments is filtered here.
async function queryCatalog() {
  const q = $('search').value.trim(), state = $('state-filter').value, group = S.group;
  const c = S.catalog;
  if (c.paged) {
    const args = { offset: c.offset, limit: PAGE };
    if (q) args.query = q;
    if (state) args.state = state;
    if (group) args.group = group;
    const r = await call('source.list', args);
    if (r.ok && r.total !== undefined) {
      c.items = r.sources || [];
      c.total = r.total;
      for (const s of c.items) S.sources.set(s.id, Object.assign(S.sources.get(s.id) || {}, s));
      renderCatalog();
      return;
    }
    if (!r.ok && r.error !== 'bad_args') return;
    c.paged = false;
  }
  const all = [...S.sources.values()].filter((s) => matches(s, q, state, group));
  c.total = all.length;
  c.items = all.slice(c.offset, c.offset + PAGE);
  renderCatalog();
}

function renderCatalog() {
  const c = S.catalog;
  if (!c.paged) {
    // Local filtering follows state changes at once.
    const all = [...S.sources.values()].filter((s) => matches(s, $('search').value.trim(), $('state-filter').value, S.group));
    c.total = all.length;
    c.items = all.slice(c.offset, c.offset + PAGE);
  }
  const ol = $('catalog');
  const sig = JSON.stringify([S.lang, c.offset, c.total, c.items.map((item) => {
    const s = S.sources.get(item.id) || item;
    return [s.id, s.name, s.state, s.group];
  })]);
  if (ol.dataset.sig === sig) return;
  ol.dataset.sig = sig;
  ol.textContent = '';
  for (const item of c.items) {
    const s = S.sources.get(item.id) || item;
    const li = el('li');
    li.dataset.source = s.id;
    li.dataset.state = s.state || 'idle';
    li.appendChild(el('span', 'dot ' + (s.state || 'idle')));
    li.appendChild(el('span', 'name', s.name || s.id));
    li.appendChild(el('span', 'id', s.id));
    li.title = (s.group ? s.group + ' · ' : '') + t('st_' + (s.state || 'idle'));
    li.addEventListener('pointerdown', (e) => { e.preventDefault(); startDrag(e, { source: s.id, label: s.name || s.id }); });
    ol.appendChild(li);
  }
  const from = c.total ? c.offset + 1 : 0, to = Math.min(c.offset + PAGE, c.total);
  $('page-info').textContent = from + '–' + to + ' ' + t('of') + ' ' + c.total;
  $('prev-page').disabled = c.offset === 0;
  $('next-page').disabled = c.offset + PAGE >= c.total;
}

// The group tree: every prefix of every source's group ("乡镇/王口镇" → 乡镇, 乡镇/王口镇).
function buildGroups() {
  const groups = new Set();
  for (const s of S.sources.values()) {
    if (!s.group) continue;
    const parts = s.group.split('/');
    for (let i = 1; i <= parts.length; i++) groups.add(parts.slice(0, i).join('/'));
  }
  const box = $('groups');
  const sig = JSON.stringify([S.lang, S.group, [...groups].sort()]);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.textContent = '';
  if (!groups.size) { box.hidden = true; return; }
  box.hidden = false;
  const ol = el('ol');
  const add = (g, label, depth) => {
    const li = el('li', S.group === g ? 'active' : '', label);
    li.style.paddingLeft = depth * 12 + 'px';
    li.dataset.group = g;
    li.addEventListener('click', () => {
      S.group = S.group === g ? '' : g;
      S.catalog.offset = 0;
      buildGroups();
      queryCatalog();
    });
    ol.appendChild(li);
  };
  add('', t('all_groups'), 0);
  for (const g of [...groups].sort()) add(g, g.split('/').pop(), g.split('/').length);
  box.appendChild(ol);
}

// ---- everything -------------------------------------------------------------------------

function renderAll() {
  if (!S.loggedIn) return;
  renderScenes();
  renderMimic();
  renderCatalog();
}

// Esc closes an open dialog wherever the focus is (in it, most often), else unselects the
// tile; the other keys are shortcuts only outside fields and dialogs.
document.addEventListener('keydown', (e) => {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  const dialogs = ['push-dialog', 'save-dialog'].filter((id) => !$(id).hidden);
  if (e.key === 'Escape') {
    if (dialogs.length) {
      for (const id of dialogs) $(id).hidden = true;
      e.preventDefault();
    } else if (!inField) {
      S.selected = null;
      renderMimic();
    }
    return;
  }
  if (inField || dialogs.length || !S.loggedIn || e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[1-9]$/.test(e.key)) {
    const sc = S.scenes[+e.key - 1];
    if (sc) act('scene.switch', { scene: sc.id });
  } else if (e.key === 'p') {
    $('push-btn').click();
    e.preventDefault();
  }
});

$('lang').addEventListener('click', () => {
  S.lang = S.lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('vwall.lang', S.lang);
  applyLang();
});

window.addEventListener('resize', () => renderMimic());

// The countdown ticks here; the wall's own numbers come with each status.
setInterval(() => { if (S.loggedIn) renderStack(); }, 200);
// States, ages and fps drift without events: refresh once a second.
setInterval(async () => {
  if (!S.loggedIn) return;
  await Promise.all([refreshStatus(), refreshSources()]);
  await refreshTiles();
  renderScenes();
  renderMimic();
  if (S.catalog.paged) queryCatalog(); else renderCatalog();
}, 1000);

applyLang();
connect();
pollPicture();
