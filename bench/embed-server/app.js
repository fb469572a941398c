'use strict';
// An OpenAI-compatible embeddings endpoint over one local model:
//   POST /v1/embeddings {"input": "..." | ["...", ...], "model": "...",
//                        "dimensions"?: n, "encoding_format"?: "float"|"base64"}
//   -> {"object": "list", "data": [{"object": "embedding", "index": i,
//       "embedding": [...]}], "model": "...", "usage": {"prompt_tokens": n,
//       "total_tokens": n}}
//   GET /v1/models, GET /healthz
// Errors follow OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
// Requests are served one at a time (the model uses the CPU fully), so a
// client sending in parallel queues rather than thrashing.

const MAX_BODY = 64 << 20; // bytes
const MAX_INPUTS = 2048; // OpenAI's per-request limit

class APIError extends Error {
  constructor(status, message, param = null, code = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

// createHandler returns a (req, res) handler for http.createServer.
// model is {name, dimensions, embed(texts) -> {vectors, tokens}}; opts:
// apiKey (when set, requests must send "Authorization: Bearer <apiKey>"),
// batchSize (texts per model call), log (function for one line a request).
function createHandler(model, opts = {}) {
  const batchSize = opts.batchSize || 32;
  const log = opts.log || (() => {});
  const stats = { requests: 0, texts: 0, tokens: 0, ms: 0 };
  let queue = Promise.resolve();

  function serial(fn) {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  }

  async function embeddings(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new APIError(400, 'request body must be a JSON object');
    }
    if (body.model !== undefined && body.model !== model.name) {
      throw new APIError(404, `The model '${body.model}' does not exist; this server serves '${model.name}'`, 'model', 'model_not_found');
    }
    if (body.model === undefined) {
      throw new APIError(400, "you must provide a model parameter", 'model');
    }
    let input = body.input;
    if (typeof input === 'string') input = [input];
    if (!Array.isArray(input) || input.length === 0) {
      throw new APIError(400, "'input' must be a non-empty string or array of strings", 'input');
    }
    if (input.length > MAX_INPUTS) {
      throw new APIError(400, `'input' has ${input.length} items; at most ${MAX_INPUTS} per request`, 'input');
    }
    input.forEach((t, i) => {
      if (typeof t !== 'string') {
        throw new APIError(400, `'input[${i}]' is not a string (token arrays are not supported by this server)`, 'input');
      }
      if (t.length === 0) {
        throw new APIError(400, `'input[${i}]' is empty`, 'input');
      }
    });
    if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== model.dimensions) {
      throw new APIError(400, `${model.name} has ${model.dimensions} dimensions and cannot shorten them; got dimensions=${JSON.stringify(body.dimensions)}`, 'dimensions');
    }
    const format = body.encoding_format === undefined || body.encoding_format === null ? 'float' : body.encoding_format;
    if (format !== 'float' && format !== 'base64') {
      throw new APIError(400, `encoding_format must be "float" or "base64", got ${JSON.stringify(format)}`, 'encoding_format');
    }
    return serial(async () => {
      const start = process.hrtime.bigint();
      const data = [];
      let tokens = 0;
      for (let i = 0; i < input.length; i += batchSize) {
        const batch = input.slice(i, i + batchSize);
        const r = await model.embed(batch);
        if (r.vectors.length !== batch.length) {
          throw new Error(`model returned ${r.vectors.length} vectors for ${batch.length} texts`);
        }
        tokens += r.tokens;
        r.vectors.forEach((v, j) => {
          data.push({
            object: 'embedding',
            index: i + j,
            embedding: format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
          });
        });
      }
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      stats.requests++;
      stats.texts += input.length;
      stats.tokens += tokens;
      stats.ms += ms;
      log(`embedded ${input.length} texts (${tokens} tokens) in ${ms.toFixed(0)} ms: ${(input.length * 1000 / ms).toFixed(1)} texts/s`);
      return {
        object: 'list',
        data,
        model: model.name,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    });
  }

  function handler(req, res) {
    const send = (status, obj) => {
      const s = JSON.stringify(obj);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
      res.end(s);
    };
    const fail = (err) => {
      if (err instanceof APIError) {
        send(err.status, { error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code } });
      } else {
        log(`error: ${err && err.stack ? err.stack : err}`);
        send(500, { error: { message: `embedding failed: ${err && err.message ? err.message : err}`, type: 'server_error', param: null, code: null } });
      }
    };
    const path = req.url.split('?')[0];
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      send(200, { status: 'ok', model: model.name, dimensions: model.dimensions, stats });
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      send(200, { object: 'list', data: [{ id: model.name, object: 'model', created: 0, owned_by: 'local' }] });
      return;
    }
    if (path !== '/v1/embeddings') {
      send(404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
      return;
    }
    if (req.method !== 'POST') {
      send(405, { error: { message: `${req.method} ${path}: use POST`, type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    const chunks = [];
    let size = 0;
    let aborted = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        aborted = true;
        fail(new APIError(413, `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (aborted) return;
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        fail(new APIError(400, `request body is not valid JSON: ${e.message}`));
        return;
      }
      embeddings(body).then((out) => send(200, out), fail);
    });
  }

  handler.stats = stats;
  return handler;
}

module.exports = { createHandler, MAX_INPUTS };
