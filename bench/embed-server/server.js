#!/usr/bin/env node
'use strict';
// node server.js [--port N] [--port-file PATH] [--batch N] [--max-tokens N]
// Serves the Universal Sentence Encoder lite as an OpenAI-compatible
// embeddings API on 127.0.0.1 (loopback only). --port 0 (the default) picks
// a free port; the address is printed on stdout and, with --port-file,
// written to that file once the model is loaded and the server listens.
// --max-tokens N embeds only each input's first N SentencePiece tokens and
// serves the model as universal-sentence-encoder-lite-firstN.
// $EMBED_SERVER_API_KEY, when set, is the bearer token clients must send.

const fs = require('fs');
const http = require('http');
const { loadModel } = require('./model');
const { createHandler } = require('./app');

function parseArgs(argv) {
  const opts = { port: 0, portFile: '', batch: 32, maxTokens: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(val());
    else if (a === '--port-file') opts.portFile = val();
    else if (a === '--batch') opts.batch = Number(val());
    else if (a === '--max-tokens') opts.maxTokens = Number(val());
    else throw new Error(`unknown flag ${a} (want --port, --port-file, --batch, --max-tokens)`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`--port ${opts.port}: want 0..65535`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > 2048) throw new Error(`--batch ${opts.batch}: want 1..2048`);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) throw new Error(`--max-tokens ${opts.maxTokens}: want 0 (no limit) or more`);
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`embed-server: ${e.message}`);
    process.exit(2);
  }
  const t0 = Date.now();
  const model = await loadModel({ maxTokens: opts.maxTokens });
  const log = (line) => console.error(`embed-server: ${line}`);
  log(`${model.name} (${model.dimensions} dimensions, TF.js ${model.backend} backend) loaded in ${Date.now() - t0} ms`);
  const server = http.createServer(createHandler(model, { apiKey: process.env.EMBED_SERVER_API_KEY || '', batchSize: opts.batch, log }));
  server.requestTimeout = 0; // a 2,048-text request can take minutes on 2 cores
  server.listen(opts.port, '127.0.0.1', () => {
    const addr = `http://127.0.0.1:${server.address().port}`;
    console.log(`listening ${addr}/v1`);
    if (opts.portFile) fs.writeFileSync(opts.portFile, `${server.address().port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`embed-server: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
