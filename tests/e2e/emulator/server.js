'use strict';
/*
 * The Bot API emulator for one-bot's end-to-end tests: npm telegram-test-api 4.2.1, corrected from
 * outside the package where it differs from what python-telegram-bot 22 expects of Telegram
 * (/work/shared/TESTING.md, "Telegram"):
 *
 *   - getMe has is_bot; message dates are in seconds, not milliseconds;
 *   - editMessageText / editMessageReplyMarkup return the edited message (and "message is not
 *     modified" when nothing changes, as Telegram does);
 *   - sendChatAction, setMyCommands, sendPhoto, sendDocument (multipart uploads), sendInvoice and
 *     answerPreCheckoutQuery answer instead of failing with HTTP 500;
 *   - getUpdates honours offset (confirms updates) and timeout (long polling) and limit;
 *   - a message starting with "/" carries a bot_command entity; callback queries carry
 *     chat_instance and the pressed message as the bot sent it (the button must exist on it);
 *   - webhook mode: each delivery sends the X-Telegram-Bot-Api-Secret-Token given to setWebhook,
 *     and a failed delivery is recorded instead of ending the process.
 *
 * Client side (the "user"): POST /sendMessage, /sendCommand, /sendCallback (the package's routes,
 * now answering with {update_id, delivery} once the update is queued or delivered), POST /sendUpdate
 * {botToken, update} for any raw Update, POST /getUpdates {token, chatId} for what the bot sent to
 * a chat, and GET /_e2e/bots/:token for what the bot did (method counts, webhook, commands).
 *
 * Usage: node server.js [PORT]   (or PORT in the environment; 0 or nothing = any free port)
 * Prints "telegram-test-api ready on http://127.0.0.1:PORT" once it listens.
 */

const axios = require('axios');
const TelegramServer = require('telegram-test-api');
const { routes } = require('telegram-test-api/lib/routes/index');

const HOST = '127.0.0.1';
const MAX_POLL_SECONDS = 50;
const toSeconds = (date) => (date > 1e11 ? Math.floor(date / 1000) : date);
const now = () => Math.floor(Date.now() / 1000);

// What the bot did, per token, for the tests to inspect.
const bots = new Map();
function botState(token) {
  if (!bots.has(token)) {
    bots.set(token, { calls: {}, commands: null, deliveries: [], preCheckoutAnswers: [] });
  }
  return bots.get(token);
}

function botUser(token) {
  const id = Number(String(token).split(':')[0]);
  return {
    id: Number.isSafeInteger(id) && id > 0 ? id : 666, is_bot: true, first_name: 'one-bot', username: 'TestNameBot',
  };
}

function chatOf(chatId) {
  const id = Number(chatId);
  return id < 0 ? { id, type: 'group', title: 'Group' } : { id, type: 'private', first_name: 'User' };
}

function parseJson(value) {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (_error) {
    return value;
  }
}

// The Message Telegram returns for a stored bot message (the package returns the request echoed).
function messageView(stored) {
  const m = stored.message;
  const view = {
    message_id: stored.messageId,
    date: toSeconds(stored.time),
    chat: chatOf(m.chat_id),
    from: botUser(stored.botToken),
  };
  for (const key of ['text', 'caption', 'photo', 'document', 'invoice']) {
    if (m[key] !== undefined) view[key] = m[key];
  }
  const markup = parseJson(m.reply_markup);
  if (markup && markup.inline_keyboard) view.reply_markup = markup;
  if (stored.editDate) view.edit_date = stored.editDate;
  return view;
}

function findBotMessage(server, token, chatId, messageId) {
  return server.storage.botMessages.find((u) => u.botToken === token
    && String(u.message.chat_id) === String(chatId) && String(u.messageId) === String(messageId));
}

// --- messages from the bot: the stored record, the returned Message with dates in seconds ------
TelegramServer.prototype.addBotMessage = function addBotMessage(rawMessage, botToken) {
  const message = TelegramServer.normalizeMessage(rawMessage);
  const stored = {
    time: Date.now(), botToken, message, updateId: this.updateId, messageId: this.messageId, isRead: false,
  };
  this.storage.botMessages.push(stored);
  this.messageId += 1;
  this.updateId += 1;
  this.emit('AddedBotMessage');
  return messageView(stored);
};

// --- updates to the bot: queued for getUpdates, or delivered to the webhook with its secret -----
TelegramServer.prototype.addUserUpdate = async function addUserUpdate(update) {
  if (!update.botToken) throw new Error('the update must name its bot: botToken is missing');
  this.updateId = Math.max(this.updateId, update.updateId + 1);
  const webhook = this.webhooks[update.botToken];
  if (!webhook) {
    this.storage.userMessages.push(update);
    this.emit('e2e:queued', update.botToken);
    return { update_id: update.updateId, delivery: 'queued' };
  }
  const headers = {};
  if (webhook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = webhook.secret_token;
  let status;
  try {
    const response = await axios({
      url: webhook.url, method: 'POST', data: TelegramServer.formatUpdate(update), headers, timeout: 10000,
      validateStatus: () => true,
    });
    status = response.status;
  } catch (error) {
    status = `error: ${error.message}`;
  }
  botState(update.botToken).deliveries.push({ update_id: update.updateId, status });
  if (status !== 200) {
    console.error(`webhook delivery of update ${update.updateId} to ${webhook.url} failed: ${status}`);
  }
  return { update_id: update.updateId, delivery: status };
};

const formatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = function formatUpdateForPtb(update) {
  if (update.raw) return { ...update.raw, update_id: update.updateId };
  const formatted = formatUpdate.call(this, update);
  if (formatted.callback_query) {
    const query = formatted.callback_query;
    const message = query.message || {};
    query.chat_instance = update.callbackQuery.chat_instance
      || String((message.chat && message.chat.id) || query.from.id);
    query.message = { message_id: 0, ...message, date: toSeconds(message.date || now()) };
    delete query.message.botToken;
  } else if (formatted.message) {
    const message = { ...formatted.message, date: toSeconds(formatted.message.date || update.time) };
    delete message.botToken;
    const text = message.text || '';
    if (text.startsWith('/') && !(message.entities || []).some((e) => e.type === 'bot_command' && e.offset === 0)) {
      const end = text.search(/\s/);
      const command = { offset: 0, length: end === -1 ? text.length : end, type: 'bot_command' };
      message.entities = [command, ...(message.entities || [])];
    }
    formatted.message = message;
  }
  return formatted;
};

// --- a multipart/form-data body (PTB uploads files that way; express parses none) -------------
function parseMultipart(buffer, boundary) {
  const fields = {};
  const files = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let start = buffer.indexOf(delimiter);
  while (start !== -1) {
    start += delimiter.length;
    if (buffer.subarray(start, start + 2).toString() === '--') break;
    const next = buffer.indexOf(delimiter, start);
    if (next === -1) break;
    const part = buffer.subarray(start + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headerEnd).toString('utf8');
    const body = part.subarray(headerEnd + 4);
    const name = (/\bname="([^"]*)"/i.exec(head) || [])[1];
    const filename = (/\bfilename="([^"]*)"/i.exec(head) || [])[1];
    const type = (/content-type:\s*([^\r\n]+)/i.exec(head) || [])[1];
    if (filename !== undefined) files[name] = { file_name: filename, mime_type: type, size: body.length };
    else if (name !== undefined) fields[name] = body.toString('utf8');
    start = next;
  }
  return { fields, files };
}

function multipart(req, _res, next) {
  const match = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(req.headers['content-type'] || '');
  if (!match) return next();
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('error', next);
  req.on('end', () => {
    const { fields, files } = parseMultipart(Buffer.concat(chunks), match[1]);
    req.body = { ...req.body, ...fields };
    req.files = files;
    next();
  });
  return undefined;
}

// --- routes, registered ahead of the package's own --------------------------------------------
let fileCounter = 0;
function fileFor(req, field) {
  const value = req.body[field];
  const attached = typeof value === 'string' && value.startsWith('attach://') ? value.slice(9) : field;
  const upload = (req.files || {})[attached];
  fileCounter += 1;
  const ids = { file_id: `e2e-file-${fileCounter}`, file_unique_id: `e2e-unique-${fileCounter}` };
  if (upload) return { ...ids, file_name: upload.file_name, mime_type: upload.mime_type, file_size: upload.size };
  return { ...ids, file_id: String(value) };
}

function fail(res, code, description) {
  res.status(code).json({ ok: false, error_code: code, description });
}

function botRoutes(app, server) {
  const on = (method, handler) => app.all(`/bot:token/${method}`, (req, res, next) => {
    Promise.resolve(handler(req, res, req.params.token)).catch(next);
  });
  const answer = (method, result) => on(method, (_req, res) => res.json({ ok: true, result }));

  app.use(multipart);
  app.use('/bot:token/:method', (req, _res, next) => {
    const { calls } = botState(req.params.token);
    calls[req.params.method] = (calls[req.params.method] || 0) + 1;
    req.body = { ...req.query, ...req.body }; // parameters may come in the query string too
    next();
  });

  on('getMe', (_req, res, token) => res.json({
    ok: true,
    result: {
      ...botUser(token), can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
    },
  }));
  answer('sendChatAction', true);
  answer('answerCallbackQuery', true);
  answer('deleteMyCommands', true);
  on('setMyCommands', (req, res, token) => {
    botState(token).commands = parseJson(req.body.commands);
    res.json({ ok: true, result: true });
  });
  on('getMyCommands', (_req, res, token) => res.json({ ok: true, result: botState(token).commands || [] }));
  on('setWebhook', (req, res, token) => {
    if (!req.body.url) return fail(res, 400, 'Bad Request: bad webhook: an HTTPS URL must be provided for webhook');
    if (req.body.secret_token !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(req.body.secret_token)) {
      return fail(res, 400, 'Bad Request: secret token contains unallowed characters');
    }
    server.setWebhook({ url: req.body.url, secret_token: req.body.secret_token || null }, token);
    return res.json({ ok: true, result: true, description: 'Webhook was set' });
  });
  on('deleteWebhook', (_req, res, token) => {
    server.deleteWebhook(token);
    res.json({ ok: true, result: true, description: 'Webhook was deleted' });
  });
  on('getWebhookInfo', (_req, res, token) => {
    const webhook = server.webhooks[token];
    const pending = server.storage.userMessages.filter((u) => u.botToken === token).length;
    const info = { url: webhook ? webhook.url : '', has_custom_certificate: false, pending_update_count: pending };
    res.json({ ok: true, result: info });
  });
  on('getUpdates', async (req, res, token) => {
    const offset = Number(req.body.offset || 0);
    const limit = Math.min(Math.max(Number(req.body.limit || 100), 1), 100);
    const timeout = Math.min(Math.max(Number(req.body.timeout || 0), 0), MAX_POLL_SECONDS);
    if (offset > 0) {
      // Telegram forgets the updates an offset confirms.
      const kept = (u) => u.botToken !== token || u.updateId >= offset;
      server.storage.userMessages = server.storage.userMessages.filter(kept);
    }
    const pending = () => server.storage.userMessages.filter((u) => u.botToken === token);
    if (pending().length === 0 && timeout > 0) {
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          server.off('e2e:queued', arrived);
          res.off('close', done);
          resolve();
        };
        const arrived = (forToken) => forToken === token && done();
        const timer = setTimeout(done, timeout * 1000);
        server.on('e2e:queued', arrived);
        res.on('close', done);
      });
    }
    if (res.destroyed) return;
    res.json({ ok: true, result: pending().slice(0, limit).map((u) => TelegramServer.formatUpdate(u)) });
  });
  on('sendMessage', (req, res, token) => {
    if (!req.body.text) return fail(res, 400, 'Bad Request: message text is empty');
    return res.json({ ok: true, result: server.addBotMessage(req.body, token) });
  });
  on('sendPhoto', (req, res, token) => {
    const { file_id, file_unique_id, file_size } = fileFor(req, 'photo');
    const sizes = [{ file_id, file_unique_id, file_size, width: 320, height: 320 }];
    res.json({ ok: true, result: server.addBotMessage({ ...req.body, photo: sizes }, token) });
  });
  on('sendDocument', (req, res, token) => {
    res.json({ ok: true, result: server.addBotMessage({ ...req.body, document: fileFor(req, 'document') }, token) });
  });
  on('sendInvoice', (req, res, token) => {
    const { title, description, payload, currency } = req.body;
    const prices = parseJson(req.body.prices) || [];
    const total = prices.reduce((sum, price) => sum + Number(price.amount), 0);
    const invoice = {
      title, description, start_parameter: req.body.start_parameter || '', currency, total_amount: total,
    };
    const sent = { chat_id: req.body.chat_id, reply_markup: req.body.reply_markup, invoice, payload };
    const result = server.addBotMessage(sent, token);
    res.json({ ok: true, result });
  });
  on('answerPreCheckoutQuery', (req, res, token) => {
    const { pre_checkout_query_id: id, ok, error_message: error } = req.body;
    botState(token).preCheckoutAnswers.push({ id, ok: String(ok) === 'true', error_message: error || null });
    res.json({ ok: true, result: true });
  });
  const edit = (method) => on(method, (req, res, token) => {
    const body = TelegramServer.normalizeMessage({ ...req.body });
    if (body.inline_message_id) return res.json({ ok: true, result: true });
    const stored = findBotMessage(server, token, body.chat_id, body.message_id);
    if (!stored) return fail(res, 400, 'Bad Request: message to edit not found');
    const text = method === 'editMessageText' ? body.text : stored.message.text;
    const markup = JSON.stringify(body.reply_markup || null);
    if (text === stored.message.text && markup === JSON.stringify(stored.message.reply_markup || null)) {
      return fail(res, 400, 'Bad Request: message is not modified: specified new message content and reply '
        + 'markup are exactly the same as a current content and reply markup of the message');
    }
    stored.message = { ...stored.message, text, reply_markup: body.reply_markup };
    stored.editDate = now();
    stored.isRead = false; // the client sees the edited message again (same message_id)
    server.emit('EditedMessageText');
    return res.json({ ok: true, result: messageView(stored) });
  });
  edit('editMessageText');
  edit('editMessageReplyMarkup');
}

// One update at a time, like Telegram delivers them to one bot: no shared ids, no reordering.
let queue = Promise.resolve();
function serially(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

function clientRoutes(app, server) {
  const accept = (path, add) => app.post(path, (req, res) => {
    serially(() => add(req.body)).then(
      (result) => res.json({ ok: true, result }),
      (error) => fail(res, 400, String(error.message || error)),
    );
  });
  const common = (botToken) => ({
    time: Date.now(), botToken, updateId: server.updateId, messageId: server.messageId, isRead: false,
  });
  accept('/sendMessage', async (message) => {
    const update = { ...common(message.botToken), message };
    server.messageId += 1;
    return server.addUserUpdate(update);
  });
  accept('/sendCommand', async (message) => {
    const update = { ...common(message.botToken), message, entities: message.entities || [] };
    server.messageId += 1;
    return server.addUserUpdate(update);
  });
  accept('/sendCallback', async (query) => {
    const pressed = query.message && query.message.message_id !== undefined
      ? findBotMessage(server, query.botToken, query.message.chat.id, query.message.message_id) : null;
    let callbackQuery = query;
    if (pressed) {
      const buttons = [].concat(...((parseJson(pressed.message.reply_markup) || {}).inline_keyboard || []));
      if (!buttons.some((button) => button.callback_data === query.data)) {
        throw new Error(`message ${pressed.messageId} has no button with callback_data ${JSON.stringify(query.data)}`);
      }
      callbackQuery = { ...query, message: messageView(pressed) };
    }
    const update = { ...common(query.botToken), callbackQuery, callbackId: server.callbackId };
    server.callbackId += 1;
    return server.addUserUpdate(update);
  });
  accept('/sendUpdate', async ({ botToken, update }) => server.addUserUpdate({ ...common(botToken), raw: update }));
  app.get('/_e2e/bots/:token', (req, res) => {
    const webhook = server.webhooks[req.params.token] || null;
    res.json({ ok: true, result: { ...botState(req.params.token), webhook } });
  });
}

routes.unshift(botRoutes, clientRoutes);

async function main() {
  const port = Number(process.argv[2] || process.env.PORT || 0);
  const server = new TelegramServer({ host: HOST, port: port || 9000, storeTimeout: 3600 });
  server.config.port = port; // 0: any free port (normalizeConfig turns 0 into 9000)
  await server.start();
  const actual = server.server.address().port;
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  console.log(`telegram-test-api ready on http://${HOST}:${actual}`);
}

// Nothing a test does may end the emulator: report and carry on.
process.on('unhandledRejection', (error) => console.error('unhandled rejection:', error));

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
