// Reference verifier for bench/verify.py: Digital Bazaar's vc.verifyCredential with the
// eddsa-rdfc-2022 cryptosuite, every JSON-LD context served from local copies (no network).
//
//   node verify.mjs --credential signed.json --controllers controllers.json \
//     --contexts /work/shared/vectors/contexts --iterations 200 [--warmup 50]
//
// controllers.json is a list of controller documents (DID documents, or the controller of an
// https verification method); each one and each of its verification methods is served by the
// document loader. Before timing, it checks that the credential verifies and that a tampered
// copy does not (exit 2 otherwise). Prints {"per_second": ..., "median_ms": ..., ...} as JSON.

import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {parseArgs} from 'node:util';

import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as vc from '@digitalbazaar/vc';
import didContext from 'did-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import securityContext from 'security-context';

const {values: args} = parseArgs({options: {
  credential: {type: 'string'},
  controllers: {type: 'string'},
  contexts: {type: 'string'},
  iterations: {type: 'string', default: '200'},
  warmup: {type: 'string', default: '50'},
}});

const readJson = path => JSON.parse(readFileSync(path, 'utf8'));

// URL -> document: contexts of the credentials (the local copies shared with Roadwise's
// tests), the DID / Multikey / security contexts from their npm packages, and the controllers.
const documents = new Map();
const contextUrls = {
  'credentials-v2.jsonld': 'https://www.w3.org/ns/credentials/v2',
  'credentials-examples-v2.jsonld': 'https://www.w3.org/ns/credentials/examples/v2',
  'ob-v3p0-context-3.0.3.json':
    'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
  'vc-bitstring-status-list-v1.jsonld': 'https://www.w3.org/ns/credentials/status/v1',
};
for(const name of readdirSync(args.contexts)) {
  if(contextUrls[name]) {
    documents.set(contextUrls[name], readJson(join(args.contexts, name)));
  }
}
for(const pkg of [didContext, multikeyContext, securityContext]) {
  for(const [url, document] of pkg.contexts) {
    if(!documents.has(url)) {
      documents.set(url, document);
    }
  }
}
for(const controller of readJson(args.controllers)) {
  documents.set(controller.id, controller);
  for(const method of controller.verificationMethod || []) {
    const id = method.id.startsWith('#') ? controller.id + method.id : method.id;
    documents.set(id, {
      '@context': 'https://w3id.org/security/multikey/v1', ...method, id
    });
  }
}

const documentLoader = async url => {
  const document = documents.get(url);
  if(document === undefined) {
    throw new Error(`document loader: ${url} is not available offline`);
  }
  return {contextUrl: null, documentUrl: url, document};
};

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
// Status lists are not fetched here (Python's proof-only figure does not check them either).
const checkStatus = async () => ({verified: true});

const verify = credential => vc.verifyCredential({
  credential, suite, documentLoader, checkStatus
});

const credential = readJson(args.credential);

const first = await verify(credential);
if(!first.verified) {
  console.error('the credential does not verify:', first.error || first.results);
  process.exit(2);
}
const tampered = structuredClone(credential);
tampered.name = (tampered.name || '') + ' (tampered)';
if((await verify(tampered)).verified) {
  console.error('a tampered copy verifies: the reference is not checking anything');
  process.exit(2);
}

for(let i = 0; i < Number(args.warmup); i++) {
  await verify(credential);
}
const iterations = Number(args.iterations);
const times = [];
const start = performance.now();
for(let i = 0; i < iterations; i++) {
  const t0 = performance.now();
  const result = await verify(credential);
  times.push(performance.now() - t0);
  if(!result.verified) {
    console.error('verification failed during the timed loop');
    process.exit(2);
  }
}
const total = performance.now() - start;
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  per_second: iterations / (total / 1000),
  median_ms: times[Math.floor(times.length / 2)],
  iterations,
  node: process.version,
}));
