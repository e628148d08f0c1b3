// giftcredit admin console: plain JavaScript over the v1 API, no framework
// and no build step. The admin key lives in this tab's sessionStorage only;
// gift-card codes are never stored (only shown, then dropped from the page).
// Amounts are typed and shown in major units of the currency's ISO 4217
// exponent and sent as integer minor units, parsed from the decimal string
// with BigInt: no floating point ever touches an amount.
(function () {
  'use strict';

  const KEY_SLOT = 'giftcredit.adminKey';
  const BILLING_SLOT = 'giftcredit.billing';
  const exponents = JSON.parse(document.body.dataset.currencies || '{}');
  const params = new URLSearchParams(location.search);
  // pageSize may be lowered in the address (?pageSize=3) to page through
  // short lists; the API caps it.
  const pageSize = Math.max(1, Math.min(100, parseInt(params.get('pageSize'), 10) || 20));
  const $ = (id) => document.getElementById(id);

  const state = {
    customer: null,
    historyCursor: null,
    lotsCursor: null,
    promoCursor: null,
    // issued holds the code of the card just sold until it is redeemed or
    // dismissed; it lives in this closure only.
    issued: null,
  };

  // ------------------------------------------------------------ amounts

  class InputError extends Error {}

  function exponentOf(currency) {
    if (!Object.prototype.hasOwnProperty.call(exponents, currency)) {
      throw new InputError(`${currency || 'The currency'} is not an ISO 4217 currency code (three capital letters, e.g. USD).`);
    }
    return exponents[currency];
  }

  // parseAmount reads a decimal string in major units ("12.50") as a
  // BigInt of minor units (1250n for USD). It refuses signs, exponents,
  // thousands separators and more decimals than the currency has.
  function parseAmount(text, currency, what) {
    const e = exponentOf(currency);
    const s = String(text).trim();
    const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
    if (!m) {
      throw new InputError(`${what}: enter digits with at most one decimal point, e.g. ${example(e)} (no signs or separators).`);
    }
    let frac = m[2] || '';
    if (frac.length > e) {
      if (/[^0]/.test(frac.slice(e))) {
        throw new InputError(`${what}: ${currency} has ${e === 0 ? 'no decimal places' : e + ' decimal place' + (e > 1 ? 's' : '')}.`);
      }
      frac = frac.slice(0, e);
    }
    const minor = BigInt(m[1] + frac.padEnd(e, '0'));
    if (minor <= 0n) throw new InputError(`${what}: must be more than zero.`);
    return minor;
  }

  function example(e) { return e === 0 ? '1500' : '10.' + '5'.padEnd(e, '0'); }

  // formatAmount shows minor units in major units: "USD 1,234.50".
  function formatAmount(minor, currency) {
    if (minor === undefined || minor === null) return '';
    let v = BigInt(minor);
    const neg = v < 0n;
    if (neg) v = -v;
    const e = Object.prototype.hasOwnProperty.call(exponents, currency) ? exponents[currency] : 0;
    const digits = v.toString().padStart(e + 1, '0');
    const whole = digits.slice(0, digits.length - e).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const frac = e > 0 ? '.' + digits.slice(digits.length - e) : '';
    return `${neg ? '−' : ''}${currency} ${whole}${frac}`;
  }

  function currencyField(id) {
    const c = $(id).value.trim().toUpperCase();
    $(id).value = c;
    exponentOf(c);
    return c;
  }

  // -------------------------------------------------------------- API

  class APIError extends Error {
    constructor(status, detail, problem) {
      super(detail);
      this.status = status;
      this.problem = problem;
    }
  }

  // toJSON encodes a body; BigInt amounts are written as exact integers.
  function toJSON(body) {
    const marks = [];
    // A marker no typed text can hold: NUL, a fresh random tag, the index.
    const tag = 'big' + Math.random().toString(36).slice(2) + '_';
    const text = JSON.stringify(body, (k, v) => {
      if (typeof v === 'bigint') { marks.push(v.toString()); return `\u0000${tag}${marks.length - 1}\u0000`; }
      return v;
    });
    return text.replace(new RegExp(`"\\\\u0000${tag}(\\d+)\\\\u0000"`, 'g'), (_, i) => marks[Number(i)]);
  }

  // parseJSON keeps integers beyond 2^53 exact where the browser gives
  // the reviver the source text.
  function parseJSON(text) {
    return JSON.parse(text, function (k, v, ctx) {
      if (typeof v === 'number' && !Number.isSafeInteger(v) && ctx && typeof ctx.source === 'string' && /^-?\d+$/.test(ctx.source)) {
        return BigInt(ctx.source);
      }
      return v;
    });
  }

  function newIdempotencyKey() {
    if (crypto.randomUUID) return 'console-' + crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'console-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // retryKeys keeps one Idempotency-Key per form and body until the call
  // succeeds, so that submitting the same thing again after a lost answer
  // replays it instead of applying it twice.
  const retryKeys = new Map();
  function idempotencyKeyFor(slot, body) {
    const sig = toJSON(body === undefined ? null : body);
    const prev = retryKeys.get(slot);
    if (prev && prev.sig === sig) return prev.key;
    const key = newIdempotencyKey();
    retryKeys.set(slot, { sig, key });
    return key;
  }

  async function api(method, path, body, opts) {
    opts = opts || {};
    const key = opts.key || sessionStorage.getItem(KEY_SLOT);
    const headers = { Accept: opts.accept || 'application/json' };
    if (key) headers.Authorization = 'Bearer ' + key;
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = toJSON(body);
    }
    if (method === 'POST') headers['Idempotency-Key'] = idempotencyKeyFor(opts.slot || path, body);
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit', redirect: 'error' });
    } catch (err) {
      throw new APIError(0, `The API did not answer (${err.message}). Trying again is safe.`, null);
    }
    const text = await resp.text();
    if (!resp.ok) {
      let problem = null;
      try { problem = JSON.parse(text); } catch (_) { /* not JSON */ }
      const detail = (problem && (problem.detail || problem.message || problem.title)) || resp.statusText || 'request failed';
      throw new APIError(resp.status, detail, problem);
    }
    if (method === 'POST') retryKeys.delete(opts.slot || path);
    if (opts.text) return text;
    return text ? parseJSON(text) : null;
  }

  // ------------------------------------------------------------ output

  function show(id, text) {
    const el = $(id);
    el.textContent = text;
    el.hidden = !text;
  }

  // fail shows why an action failed: the API's problem detail, with its
  // status and code, or the input error.
  function fail(id, err) {
    let text;
    if (err instanceof APIError) {
      const code = err.problem && err.problem.code ? ` · ${err.problem.code}` : '';
      // An answer without a problem code is API Gateway's own, e.g. a 404
      // for a route this stack does not have.
      const gateway = err.status && !(err.problem && err.problem.code) ? ' from API Gateway' : '';
      text = err.status ? `${err.message} (${err.status}${code}${gateway})` : err.message;
    } else if (err instanceof InputError) {
      text = err.message;
    } else {
      text = 'Unexpected error: ' + (err && err.message ? err.message : String(err));
    }
    show(id, text);
  }

  function clear(...ids) { for (const id of ids) show(id, ''); }

  // busy disables a form's buttons while fn runs.
  async function busy(form, fn) {
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute('aria-busy', 'true');
    try { return await fn(); } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute('aria-busy');
    }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function when(ts) {
    if (!ts) return '';
    const d = new Date(ts);
    return isNaN(d) ? String(ts) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // day shows the UTC day of an instant: expiries are chosen as a UTC end
  // of day ("Expires on"), which in a browser east of UTC is already the
  // next day locally.
  function day(ts) {
    if (!ts) return '';
    const d = new Date(ts);
    return isNaN(d) ? String(ts) : d.toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
  }

  function emptyRow(tbody, cols, text) {
    tbody.append(el('tr', {}, el('td', { colspan: cols, class: 'empty', text })));
  }

  // ----------------------------------------------------------- screens

  const screens = ['customers', 'sell', 'cards', 'promotions', 'report'];

  function go(name) {
    for (const s of screens) $(s).hidden = s !== name;
    document.querySelectorAll('#nav [data-screen]').forEach((b) => {
      if (b.dataset.screen === name) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
    });
    if (name !== 'sell') dropIssued();
    if (name === 'promotions') loadPromotions(false);
    if (name === 'sell') updateSellRedeem();
    const title = $(name + '-title');
    if (title) title.focus();
  }

  function signedIn() {
    $('login').hidden = true;
    $('nav').hidden = false;
    go('customers');
    $('find-email').focus();
  }

  function signOut() {
    sessionStorage.removeItem(KEY_SLOT);
    sessionStorage.removeItem(BILLING_SLOT);
    dropIssued();
    state.customer = null;
    $('customer').hidden = true;
    $('create-form').hidden = true;
    for (const s of screens) $(s).hidden = true;
    $('nav').hidden = true;
    $('login').hidden = false;
    $('login-key').value = '';
    $('login-key').focus();
  }

  // ------------------------------------------------------------ sign in

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    clear('login-error');
    const key = $('login-key').value.trim();
    busy(form, async () => {
      try {
        // An admin-only read proves the key is an admin key.
        await api('GET', '/v1/promotions?limit=1', undefined, { key });
        sessionStorage.setItem(KEY_SLOT, key);
        $('login-key').value = '';
        signedIn();
      } catch (err) {
        fail('login-error', err);
      }
    });
  });

  $('sign-out').addEventListener('click', signOut);
  document.querySelectorAll('#nav [data-screen]').forEach((b) => b.addEventListener('click', () => go(b.dataset.screen)));

  // ---------------------------------------------------------- customers

  $('find-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('find-error');
    $('create-form').hidden = true;
    const email = $('find-email').value.trim();
    busy(ev.currentTarget, async () => {
      try {
        const c = await api('GET', '/v1/customers?email=' + encodeURIComponent(email));
        await openCustomer(c.id, c);
        $('credit-amount').focus();
      } catch (err) {
        if (err instanceof APIError && err.status === 404) {
          closeCustomer();
          $('create-note').textContent = `${err.message} Create a customer with the email ${email}?`;
          $('create-form').hidden = false;
          $('create-name').focus();
          return;
        }
        fail('find-error', err);
      }
    });
  });

  $('create-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('find-error');
    const body = { email: $('find-email').value.trim(), name: $('create-name').value.trim() };
    busy(ev.currentTarget, async () => {
      try {
        const c = await api('POST', '/v1/customers', body, { slot: 'create-customer' });
        $('create-form').hidden = true;
        $('create-name').value = '';
        await openCustomer(c.id, c);
        $('credit-amount').focus();
      } catch (err) {
        if (err instanceof APIError && err.status === 409 && err.problem && err.problem.customerId) {
          $('create-form').hidden = true;
          await openCustomer(err.problem.customerId);
          fail('find-error', err);
          return;
        }
        fail('find-error', err);
      }
    });
  });

  function closeCustomer() {
    state.customer = null;
    $('customer').hidden = true;
  }

  async function openCustomer(id, known) {
    const c = known && known.balances ? known : await api('GET', '/v1/customers/' + encodeURIComponent(id));
    const changed = !state.customer || state.customer.id !== c.id;
    state.customer = c;
    renderCustomer(c);
    if (changed) {
      clear('credit-error', 'credit-ok', 'redeem-error', 'redeem-ok');
      $('credit-confirm').hidden = true;
      if (c.balances && c.balances.length === 1) {
        $('credit-currency').value = c.balances[0].currency;
      }
    }
    $('customer').hidden = false;
    await Promise.all([loadHistory(false), loadLots(false)]);
  }

  async function refreshCustomer() {
    if (!state.customer) return;
    await openCustomer(state.customer.id);
  }

  function renderCustomer(c) {
    $('customer-name').textContent = c.name;
    $('customer-email').textContent = c.email;
    $('customer-id').textContent = c.id;
    const tbody = $('balances').tBodies[0];
    tbody.replaceChildren();
    if (!c.balances || c.balances.length === 0) {
      emptyRow(tbody, 4, 'No credit yet.');
      return;
    }
    for (const b of c.balances) {
      const next = b.nextExpiry ? `${formatAmount(b.nextExpiry.amount, b.currency)} on ${day(b.nextExpiry.expiresAt)}` : '';
      tbody.append(el('tr', { 'data-currency': b.currency },
        el('th', { scope: 'row', text: b.currency }),
        el('td', { class: 'num balance', text: formatAmount(b.amount, b.currency) }),
        el('td', { class: 'num', text: b.held ? formatAmount(b.held, b.currency) : '' }),
        el('td', { text: next })));
    }
  }

  const kindNames = {
    order: 'Order', redemption: 'Gift card redeemed', credit: 'Credit', credit_application: 'Credit spent',
    reversal: 'Reversal', promotion_grant: 'Promotion', hold: 'Hold', capture: 'Capture', release: 'Hold released',
    refund: 'Refund', expiry: 'Expired',
  };

  async function loadHistory(more) {
    const c = state.customer;
    if (!c) return;
    if (!more) state.historyCursor = null;
    clear('history-error');
    let q = `?limit=${pageSize}`;
    if (more && state.historyCursor) q += '&cursor=' + encodeURIComponent(state.historyCursor);
    const tbody = $('history').tBodies[0];
    try {
      const page = await api('GET', `/v1/customers/${encodeURIComponent(c.id)}/transactions${q}`);
      if (!more) tbody.replaceChildren();
      const account = 'customer:' + c.id;
      for (const t of page.transactions || []) {
        const mine = (t.postings || []).filter((p) => p.account === account);
        const amounts = mine.map((p) => formatAmount(p.amount, p.currency)).join(', ');
        const after = mine.map((p) => (p.balanceAfter === undefined ? '' : formatAmount(p.balanceAfter, p.currency))).join(', ');
        tbody.append(el('tr', { 'data-kind': t.kind },
          el('td', { text: when(t.createdAt) }),
          el('td', { text: kindNames[t.kind] || t.kind }),
          el('td', { class: 'num', text: amounts }),
          el('td', { class: 'num', text: after }),
          el('td', { text: t.reference || '' }),
          el('td', {}, el('code', { text: t.id }))));
      }
      if (!tbody.rows.length) emptyRow(tbody, 6, 'No transactions yet.');
      state.historyCursor = page.nextCursor || null;
      $('history-more').hidden = !state.historyCursor;
    } catch (err) {
      if (!more) tbody.replaceChildren();
      $('history-more').hidden = true;
      fail('history-error', err);
    }
  }

  async function loadLots(more) {
    const c = state.customer;
    if (!c) return;
    if (!more) state.lotsCursor = null;
    clear('lots-error');
    let q = `?limit=${pageSize}`;
    if (more && state.lotsCursor) q += '&cursor=' + encodeURIComponent(state.lotsCursor);
    const tbody = $('lots').tBodies[0];
    try {
      const page = await api('GET', `/v1/customers/${encodeURIComponent(c.id)}/lots${q}`);
      if (!more) tbody.replaceChildren();
      for (const lot of page.lots || []) {
        tbody.append(el('tr', {},
          el('td', { text: lot.source }),
          el('td', { class: 'num', text: formatAmount(lot.amount, lot.currency) }),
          el('td', { class: 'num', text: formatAmount(lot.remaining, lot.currency) }),
          el('td', { text: lot.expiresAt ? day(lot.expiresAt) : 'never', title: lot.expiresAt || undefined }),
          el('td', { text: when(lot.createdAt) })));
      }
      if (!tbody.rows.length) emptyRow(tbody, 5, 'No credit lots with anything left.');
      state.lotsCursor = page.nextCursor || null;
      $('lots-more').hidden = !state.lotsCursor;
    } catch (err) {
      if (!more) tbody.replaceChildren();
      $('lots-more').hidden = true;
      fail('lots-error', err);
    }
  }

  $('history-more').addEventListener('click', () => loadHistory(true));
  $('lots-more').addEventListener('click', () => loadLots(true));

  // -------------------------------------------------------------- credit

  let pendingCredit = null;

  function creditBody() {
    const currency = currencyField('credit-currency');
    const amount = parseAmount($('credit-amount').value, currency, 'Amount');
    const paymentType = $('credit-payment').value.trim().toLowerCase();
    if (!paymentType) throw new InputError('Payment type: say how the credit is balanced (e.g. other).');
    const body = { amount, currency, paymentType };
    const reference = $('credit-reference').value.trim();
    if (reference) body.reference = reference;
    const expires = $('credit-expires').value;
    if (expires) body.expiresAt = expires + 'T23:59:59Z';
    return body;
  }

  $('credit-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('credit-error', 'credit-ok');
    try {
      pendingCredit = creditBody();
    } catch (err) {
      $('credit-confirm').hidden = true;
      fail('credit-error', err);
      return;
    }
    const b = pendingCredit;
    const c = state.customer;
    $('credit-confirm-text').textContent =
      `Credit ${formatAmount(b.amount, b.currency)} to ${c.name} (${c.email}), balanced by ${b.paymentType}` +
      `${b.reference ? `, reference “${b.reference}”` : ''}${b.expiresAt ? `, expiring ${day(b.expiresAt)}` : ''}? ` +
      'A posted credit cannot be cancelled, only reversed.';
    $('credit-confirm').hidden = false;
    $('credit-confirm-yes').focus();
  });

  $('credit-confirm-no').addEventListener('click', () => {
    $('credit-confirm').hidden = true;
    pendingCredit = null;
    $('credit-amount').focus();
  });

  $('credit-confirm-yes').addEventListener('click', () => {
    const body = pendingCredit;
    const c = state.customer;
    if (!body || !c) return;
    busy($('credit-form'), async () => {
      try {
        const t = await api('POST', `/v1/customers/${encodeURIComponent(c.id)}/credits`, body, { slot: 'credit' });
        $('credit-confirm').hidden = true;
        pendingCredit = null;
        $('credit-amount').value = '';
        $('credit-reference').value = '';
        $('credit-expires').value = '';
        show('credit-ok', `Credited ${formatAmount(body.amount, body.currency)} · ${t.id}`);
        await refreshCustomer();
      } catch (err) {
        $('credit-confirm').hidden = true;
        fail('credit-error', err);
      }
    });
  });

  // -------------------------------------------------------------- redeem

  async function redeem(code) {
    const c = state.customer;
    const r = await api('POST', `/v1/customers/${encodeURIComponent(c.id)}/redemptions`, { code }, { slot: 'redeem' });
    return `Redeemed ${formatAmount(r.amount, r.currency)} from card ••••${r.last4}; ${c.name}'s credit is now ${formatAmount(r.balance, r.currency)}.`;
  }

  $('redeem-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('redeem-error', 'redeem-ok');
    const code = $('redeem-code').value.trim();
    busy(ev.currentTarget, async () => {
      try {
        const msg = await redeem(code);
        $('redeem-code').value = '';
        show('redeem-ok', msg);
        await refreshCustomer();
      } catch (err) {
        fail('redeem-error', err);
      }
    });
  });

  // ---------------------------------------------------------------- sell

  function loadBilling() {
    try {
      const b = JSON.parse(sessionStorage.getItem(BILLING_SLOT) || 'null');
      if (b) {
        if (!$('sell-billing-name').value) $('sell-billing-name').value = b.name || '';
        if (!$('sell-billing-email').value) $('sell-billing-email').value = b.email || '';
      }
    } catch (_) { /* nothing remembered */ }
  }

  function updateSellRedeem() {
    loadBilling();
    const c = state.customer;
    const btn = $('sell-redeem');
    btn.hidden = !(c && state.issued);
    if (c) btn.textContent = `Redeem onto ${c.name}`;
  }

  function dropIssued() {
    state.issued = null;
    $('sell-code').textContent = '';
    $('sell-summary').textContent = '';
    $('sell-result').hidden = true;
    clear('sell-redeem-error');
  }

  $('sell-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('sell-error');
    dropIssued();
    let body;
    try {
      const currency = currencyField('sell-currency');
      const card = { amount: parseAmount($('sell-amount').value, currency, 'Amount') };
      const recipient = $('sell-recipient').value.trim();
      if (recipient) card.recipientEmail = recipient;
      body = {
        billingName: $('sell-billing-name').value.trim(),
        billingEmail: $('sell-billing-email').value.trim(),
        paymentMethod: $('sell-payment').value,
        currency,
        giftCards: [card],
      };
    } catch (err) {
      fail('sell-error', err);
      return;
    }
    busy(ev.currentTarget, async () => {
      try {
        const o = await api('POST', '/v1/orders', body, { slot: 'order' });
        sessionStorage.setItem(BILLING_SLOT, JSON.stringify({ name: body.billingName, email: body.billingEmail }));
        const g = o.giftCards[0];
        state.issued = g.code;
        $('sell-code').textContent = g.code;
        $('sell-summary').textContent =
          `${formatAmount(g.amount, o.currency)} · card ${g.id} (••••${g.last4}) · order ${o.id} · paid by ${o.paymentMethod}` +
          ` · emailed to ${g.recipientEmail || o.billingEmail}`;
        $('sell-amount').value = '';
        $('sell-recipient').value = '';
        $('sell-result').hidden = false;
        updateSellRedeem();
        (state.customer ? $('sell-redeem') : $('sell-done')).focus();
      } catch (err) {
        fail('sell-error', err);
      }
    });
  });

  $('sell-done').addEventListener('click', dropIssued);

  $('sell-redeem').addEventListener('click', () => {
    const code = state.issued;
    if (!code || !state.customer) return;
    clear('sell-redeem-error');
    busy($('sell-result'), async () => {
      try {
        const msg = await redeem(code);
        dropIssued();
        go('customers');
        clear('redeem-error');
        show('redeem-ok', msg);
        await refreshCustomer();
      } catch (err) {
        fail('sell-redeem-error', err);
      }
    });
  });

  // --------------------------------------------------------- gift cards

  $('check-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('check-error', 'check-ok');
    const code = $('check-code').value.trim();
    busy(ev.currentTarget, async () => {
      try {
        const r = await api('POST', '/v1/gift-cards/check', { code }, { slot: 'check' });
        const held = r.held ? `, ${formatAmount(r.held, r.currency)} held` : '';
        show('check-ok', `Card ••••${r.last4}: ${formatAmount(r.balance, r.currency)}${held}, ${r.status}.`);
      } catch (err) {
        fail('check-error', err);
      }
    });
  });

  $('order-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('order-error');
    const list = $('order-cards');
    list.replaceChildren();
    const id = $('order-id').value.trim();
    busy(ev.currentTarget, async () => {
      try {
        const o = await api('GET', '/v1/orders/' + encodeURIComponent(id));
        for (const g of o.giftCards || []) {
          const pick = el('button', { type: 'button', class: 'quiet', text: 'Disable…' });
          pick.addEventListener('click', () => {
            $('disable-id').value = g.id;
            $('disable-form').requestSubmit();
          });
          list.append(el('li', {}, el('span', { class: 'mono', text: `••••${g.last4}` }),
            el('span', { text: formatAmount(g.amount, o.currency) }), el('code', { text: g.id }), pick));
        }
        if (!list.children.length) list.append(el('li', { class: 'muted', text: 'This order has no gift cards.' }));
      } catch (err) {
        fail('order-error', err);
      }
    });
  });

  $('disable-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('disable-error', 'disable-ok');
    const id = $('disable-id').value.trim();
    if (!id) { show('disable-error', 'Card id: enter the card id (gc_…) from the order.'); return; }
    $('disable-confirm-text').textContent = `Disable card ${id}? It can then never be redeemed or spent.`;
    $('disable-confirm').hidden = false;
    $('disable-confirm-yes').focus();
  });

  $('disable-confirm-no').addEventListener('click', () => { $('disable-confirm').hidden = true; });

  $('disable-confirm-yes').addEventListener('click', () => {
    const id = $('disable-id').value.trim();
    busy($('disable-form'), async () => {
      try {
        const g = await api('POST', `/v1/gift-cards/${encodeURIComponent(id)}/disable`, undefined, { slot: 'disable' });
        $('disable-confirm').hidden = true;
        show('disable-ok', `Card ••••${g.last4} (${formatAmount(g.balance, g.currency)}) is ${g.status}.`);
      } catch (err) {
        $('disable-confirm').hidden = true;
        fail('disable-error', err);
      }
    });
  });

  // --------------------------------------------------------- promotions

  async function loadPromotions(more) {
    if (!more) state.promoCursor = null;
    clear('promo-list-error');
    let q = `?limit=${pageSize}`;
    if (more && state.promoCursor) q += '&cursor=' + encodeURIComponent(state.promoCursor);
    const tbody = $('promo-table').tBodies[0];
    try {
      const page = await api('GET', '/v1/promotions' + q);
      if (!more) tbody.replaceChildren();
      for (const p of page.promotions || []) tbody.append(promotionRow(p));
      if (!tbody.rows.length) emptyRow(tbody, 7, 'No promotions yet.');
      state.promoCursor = page.nextCursor || null;
      $('promo-more').hidden = !state.promoCursor;
    } catch (err) {
      if (!more) tbody.replaceChildren();
      fail('promo-list-error', err);
    }
  }

  function promotionRow(p) {
    const action = p.status === 'active' ? 'pause' : 'resume';
    const btn = el('button', { type: 'button', class: 'quiet', text: action === 'pause' ? 'Pause' : 'Resume', 'aria-label': `${action} ${p.name}` });
    const row = el('tr', { 'data-id': p.id },
      el('th', { scope: 'row', text: p.name }),
      el('td', { text: `${formatAmount(p.minGiftCardAmount, p.currency)} per ${p.per || 'order'} earns ${formatAmount(p.creditAmount, p.currency)}` +
        (p.creditExpiresInDays ? `, expiring after ${p.creditExpiresInDays} days` : '') }),
      el('td', { text: `${when(p.startsAt)} – ${when(p.endsAt)}` }),
      el('td', { class: 'num', text: String(p.perCustomerLimit) }),
      el('td', { text: p.budget ? `${formatAmount(p.budgetRemaining ?? p.budget, p.currency)} of ${formatAmount(p.budget, p.currency)}` : 'no budget' }),
      el('td', { class: 'status', text: p.status }),
      el('td', {}, btn));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      clear('promo-list-error');
      try {
        const updated = await api('POST', `/v1/promotions/${encodeURIComponent(p.id)}/${action}`, undefined, { slot: 'promo-' + action + p.id });
        row.replaceWith(promotionRow(updated));
      } catch (err) {
        btn.disabled = false;
        fail('promo-list-error', err);
      }
    });
    return row;
  }

  $('promo-more').addEventListener('click', () => loadPromotions(true));

  function isoFromLocal(id, what) {
    const v = $(id).value;
    const d = new Date(v);
    if (!v || isNaN(d)) throw new InputError(`${what}: pick a date and time.`);
    return d.toISOString();
  }

  $('promo-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('promo-error', 'promo-ok');
    let body;
    try {
      const currency = currencyField('promo-currency');
      body = {
        name: $('promo-name').value.trim(),
        currency,
        startsAt: isoFromLocal('promo-starts', 'Starts'),
        endsAt: isoFromLocal('promo-ends', 'Ends'),
        minGiftCardAmount: parseAmount($('promo-min').value, currency, 'Gift cards of at least'),
        creditAmount: parseAmount($('promo-credit').value, currency, 'Credit'),
        per: $('promo-per').value,
      };
      const limit = $('promo-limit').value.trim();
      if (limit) body.perCustomerLimit = Number(limit);
      const budget = $('promo-budget').value.trim();
      if (budget) body.budget = parseAmount(budget, currency, 'Budget');
      const expiry = $('promo-expiry').value.trim();
      if (expiry) body.creditExpiresInDays = Number(expiry);
    } catch (err) {
      fail('promo-error', err);
      return;
    }
    busy(ev.currentTarget, async () => {
      try {
        const p = await api('POST', '/v1/promotions', body, { slot: 'promotion' });
        show('promo-ok', `Created “${p.name}” (${p.id}).`);
        $('promo-name').value = '';
        await loadPromotions(false);
      } catch (err) {
        fail('promo-error', err);
      }
    });
  });

  // ------------------------------------------------------------- report

  function utcDay(d) { return d.toISOString().slice(0, 10); }

  (function defaultReportDays() {
    const to = new Date();
    const from = new Date(to.getTime() - 29 * 86400000);
    $('report-from').value = utcDay(from);
    $('report-to').value = utcDay(to);
    const today = new Date();
    $('promo-starts').value = localInput(today);
    $('promo-ends').value = localInput(new Date(today.getTime() + 30 * 86400000));
  })();

  function localInput(d) {
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  let csvURL = null;

  $('report-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear('report-error', 'report-chart-error');
    $('report-result').hidden = true;
    let q;
    try {
      const currency = currencyField('report-currency');
      const from = $('report-from').value;
      const to = $('report-to').value;
      if (!from || !to) throw new InputError('From and To: pick both days.');
      q = `?from=${from}&to=${to}&currency=${currency}`;
    } catch (err) {
      fail('report-error', err);
      return;
    }
    busy(ev.currentTarget, async () => {
      let r;
      try {
        r = await api('GET', '/v1/reports/liability' + q);
      } catch (err) {
        fail('report-error', err);
        return;
      }
      renderReport(r);
      $('report-result').hidden = false;
      try {
        const csv = await api('GET', '/v1/reports/liability' + q, undefined, { accept: 'text/csv', text: true });
        drawChart(parseCSV(csv), r.currency);
        if (csvURL) URL.revokeObjectURL(csvURL);
        csvURL = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
        const a = $('report-csv');
        a.href = csvURL;
        a.download = `liability-${r.currency}-${r.from}-${r.to}.csv`;
        a.hidden = false;
      } catch (err) {
        $('report-chart').replaceChildren();
        $('report-csv').hidden = true;
        fail('report-chart-error', err);
      }
    });
  });

  function figureRows(tbody, rows, currency) {
    tbody.replaceChildren();
    for (const [label, value, isCount] of rows) {
      tbody.append(el('tr', {}, el('th', { scope: 'row', text: label }),
        el('td', { class: 'num', text: value === undefined ? '' : (isCount ? String(value) : formatAmount(value, currency)) })));
    }
  }

  function renderReport(r) {
    const g = r.giftCards || {};
    const c = r.credit || {};
    const granted = c.granted || {};
    $('report-caption').textContent = `What is owed in ${r.currency} at the end of each UTC day, ${r.from} to ${r.to}: gift cards and customer credit.`;
    figureRows($('report-cards').tBodies[0], [
      ['Opening', g.opening], ['Issued', g.issued], ['Redeemed onto credit', g.redeemed], ['Spent', g.spent],
      ['Refunded', g.refunded], ['Closing', g.closing], ['Cards outstanding', g.outstandingCount, true],
    ], r.currency);
    figureRows($('report-credit').tBodies[0], [
      ['Opening', c.opening], ['Granted from redemptions', granted.redemption], ['Granted directly', granted.credit],
      ['Granted by promotions', granted.promotion], ['Granted by refunds', granted.refund], ['Spent', c.spent],
      ['Expired', c.expired], ['Reversed', c.reversed], ['Closing', c.closing],
    ], r.currency);
  }

  // parseCSV reads the report's CSV (a header row, then one row per day)
  // into {header, rows}; quoted fields are allowed.
  function parseCSV(text) {
    const lines = [];
    let row = [], field = '', quoted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        row.push(field); field = '';
        if (row.some((f) => f !== '')) lines.push(row);
        row = [];
      } else field += ch;
    }
    row.push(field);
    if (row.some((f) => f !== '')) lines.push(row);
    return { header: (lines.shift() || []).map((h) => h.trim()), rows: lines };
  }

  // closingColumns finds the day column and the two closing balances in the
  // CSV header, whatever its exact spelling (giftCards.closing,
  // gift_cards_closing, creditClosing...).
  function closingColumns(header) {
    const norm = header.map((h) => h.toLowerCase().replace(/[^a-z]/g, ''));
    const dayCol = Math.max(0, norm.findIndex((h) => h === 'day' || h === 'date'));
    const cards = norm.findIndex((h) => h.includes('closing') && (h.includes('gift') || h.includes('card')));
    const credit = norm.findIndex((h) => h.includes('closing') && h.includes('credit'));
    return { dayCol, cards, credit };
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // niceTop rounds the highest value up so that the chart's four steps are
  // 1, 2 or 5 times a power of ten (in minor units).
  function niceTop(top) {
    const raw = top <= 0n ? 1n : (top + 3n) / 4n;
    let mag = 1n;
    while (mag * 10n <= raw) mag *= 10n;
    for (const m of [1n, 2n, 5n, 10n]) {
      if (m * mag >= raw) return m * mag * 4n;
    }
    return raw * 4n;
  }

  // drawChart draws the closing balance of gift cards and of credit per day
  // as two lines of an inline SVG built here (no inline style: classes only).
  function drawChart(csv, currency) {
    const box = $('report-chart');
    box.replaceChildren();
    const cols = closingColumns(csv.header);
    if (cols.cards < 0 || cols.credit < 0) throw new InputError('The CSV has no closing columns to chart.');
    const days = csv.rows.map((r) => ({
      day: r[cols.dayCol],
      cards: BigInt(r[cols.cards] || '0'),
      credit: BigInt(r[cols.credit] || '0'),
    }));
    if (!days.length) throw new InputError('The report has no days to chart.');
    const W = 720, H = 260, L = 90, R = 16, T = 16, B = 48;
    let top = 0n;
    for (const d of days) { if (d.cards > top) top = d.cards; if (d.credit > top) top = d.credit; }
    top = niceTop(top);
    // Scale in BigInt, then to pixels: only positions are floating point.
    const y = (v) => T + (H - T - B) * (1 - Number((v * 10000n) / top) / 10000);
    const x = (i) => L + (days.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (days.length - 1));
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'report-chart-title' });
    s.append(svg('title', { id: 'report-chart-title' }, `Closing gift-card and credit liability per day in ${currency}`));
    for (let k = 0; k <= 4; k++) {
      const v = (top * BigInt(k)) / 4n;
      const yy = y(v);
      s.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: yy, y2: yy }));
      s.append(svg('text', { class: 'tick', x: L - 6, y: yy + 4, 'text-anchor': 'end' }, formatAmount(v, currency)));
    }
    s.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const step = Math.max(1, Math.ceil(days.length / 8));
    days.forEach((d, i) => {
      // Every step-th day is labelled, and the last, unless the two would touch.
      if ((i % step === 0 && days.length - 1 - i >= step / 2) || i === days.length - 1) {
        s.append(svg('text', { class: 'tick', x: x(i), y: H - B + 16, 'text-anchor': 'middle' }, d.day.slice(5)));
      }
    });
    for (const [key, cls, label] of [['cards', 'cards', 'Gift cards'], ['credit', 'credit', 'Customer credit']]) {
      const pts = days.map((d, i) => `${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join(' ');
      s.append(svg('polyline', { class: 'line-' + cls, points: pts }));
      days.forEach((d, i) => {
        const dot = svg('circle', { class: 'dot-' + cls, cx: x(i).toFixed(1), cy: y(d[key]).toFixed(1), r: days.length > 31 ? 2 : 3 });
        dot.append(svg('title', {}, `${d.day}: ${label} ${formatAmount(d[key], currency)}`));
        s.append(dot);
      });
    }
    const ly = H - 12;
    s.append(svg('rect', { class: 'dot-cards', x: L, y: ly - 9, width: 12, height: 12 }));
    s.append(svg('text', { class: 'legend', x: L + 18, y: ly + 1 }, 'Gift cards'));
    s.append(svg('rect', { class: 'dot-credit', x: L + 110, y: ly - 9, width: 12, height: 12 }));
    s.append(svg('text', { class: 'legend', x: L + 128, y: ly + 1 }, 'Customer credit'));
    box.append(s);
  }

  // ------------------------------------------------------------- start

  (function currencyList() {
    const list = $('currency-list');
    for (const code of Object.keys(exponents).sort()) list.append(el('option', { value: code }));
  })();

  // The pure parts, for the browser tests to check in the page itself.
  window.giftcreditConsole = Object.freeze({ parseAmount, formatAmount, toJSON, parseCSV, drawChart });

  if (sessionStorage.getItem(KEY_SLOT)) signedIn(); else $('login-key').focus();
})();
