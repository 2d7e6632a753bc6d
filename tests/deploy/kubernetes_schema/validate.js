// Validates Kubernetes manifests against the Kubernetes API schema of the pinned kubernetes-models
// package (package.json beside this file; v1.33.0's OpenAPI document compiled into ajv validators).
//
// Usage: node validate.js MODULES_DIR FILE...
//   MODULES_DIR: the node_modules folder holding kubernetes-models and js-yaml
//                (scripts/fetch_kubernetes_schema.sh: data/kubernetes-schema/node_modules).
// Every YAML document of every FILE must be a Kubernetes object whose apiVersion and kind the
// schema knows, valid against that kind's schema (types, required fields, enums, formats), and
// without fields the schema does not declare (as the API server's strict field validation and
// `kubeconform -strict` reject them). The compiled validators do not reject undeclared fields, so
// they are found by watching which fields a validator reads: it reads every field its schema
// declares, and every key of a map (e.g. labels); any other key of an object it inspected is
// undeclared. Objects the schema leaves free-form (no declared fields read) are not inspected.
//
// Prints `schema kubernetes-models@VERSION`, then one line per document:
//   OK FILE#N KIND/NAME     or     INVALID FILE#N KIND/NAME: REASON; REASON...
// Exit status: 0 all valid, 1 some document invalid, 2 the schema package or a file is missing.
"use strict";
const fs = require("fs");
const path = require("path");

function fail(message) {
  console.error("validate.js: " + message);
  process.exit(2);
}

const [modulesArg, ...files] = process.argv.slice(2);
const modules = modulesArg && path.resolve(modulesArg);
if (!modulesArg || files.length === 0) fail("usage: node validate.js MODULES_DIR FILE...");
const modelsDir = path.join(modules, "kubernetes-models");
if (!fs.existsSync(path.join(modelsDir, "package.json"))) {
  fail(`the Kubernetes schema package is not installed: no ${modelsDir} ` +
       "(run: bash scripts/fetch_kubernetes_schema.sh)");
}
const yaml = require(path.join(modules, "js-yaml"));
console.log("schema kubernetes-models@" + require(path.join(modelsDir, "package.json")).version);

// apiVersion "v1" -> kubernetes-models/v1; "apps/v1" -> kubernetes-models/apps/v1.
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9./]+$/.test(apiVersion)) {
    return null;
  }
  const dir = path.join(modelsDir, ...apiVersion.split("/"));
  if (!fs.existsSync(path.join(dir, "index.js"))) return null;
  const model = require(dir)[kind];
  return typeof model === "function" && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

// A proxy over `root` that records, per object, which keys the validator read.
function tracker(root) {
  const read = new Map();  // target -> Set of keys, or true when all keys were listed
  const proxies = new Map();
  const note = (target, key) => {
    if (typeof key !== "string") return;
    let keys = read.get(target);
    if (keys === true) return;
    if (!keys) read.set(target, (keys = new Set()));
    keys.add(key);
  };
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (!proxies.has(value)) {
      proxies.set(value, new Proxy(value, {
        get(target, key) { note(target, key); return wrap(target[key]); },
        has(target, key) { note(target, key); return key in target; },
        getOwnPropertyDescriptor(target, key) {
          note(target, key);
          const d = Object.getOwnPropertyDescriptor(target, key);
          return d && "value" in d ? { ...d, value: wrap(d.value) } : d;
        },
        ownKeys(target) { read.set(target, true); return Reflect.ownKeys(target); },
      }));
    }
    return proxies.get(value);
  };
  return { proxy: wrap(root), read };
}

function undeclaredFields(value, read, where, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => undeclaredFields(item, read, `${where}/${i}`, out));
    return;
  }
  const keys = read.get(value);
  if (keys === undefined) return;  // free-form: the schema declares no fields here
  for (const key of Object.keys(value)) {
    if (keys !== true && !keys.has(key)) {
      out.push(`${where}/${key}: unknown field "${key}"`);
      continue;
    }
    undeclaredFields(value[key], read, `${where}/${key}`, out);
  }
}

let invalid = 0;
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, "utf8"));
  } catch (e) {
    if (e.code === "ENOENT") fail(`no such file: ${file}`);
    console.log(`INVALID ${file}#0 -: not YAML: ${e.message.split("\n")[0]}`);
    invalid++;
    continue;
  }
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;  // an empty document (e.g. after a final ---)
    const kind = doc && doc.kind, name = doc && doc.metadata && doc.metadata.name;
    const label = `${file}#${i} ${kind || "?"}/${name || "?"}`;
    const problems = [];
    const model = modelFor(doc && doc.apiVersion, kind);
    if (!model) {
      problems.push(`no schema for apiVersion ${JSON.stringify(doc && doc.apiVersion)} kind ${JSON.stringify(kind)}`);
    } else {
      // The package's own check (its compiled validator, ajv's messages), run on the tracker.
      const { proxy, read } = tracker(doc);
      try {
        model.prototype.validate.call(proxy);
      } catch (e) {
        problems.push(e.message);
      }
      undeclaredFields(doc, read, "", problems);
      if (!name) problems.push("/metadata/name: required");
    }
    if (problems.length > 0) {
      invalid++;
      console.log(`INVALID ${label}: ${problems.join("; ")}`);
    } else {
      console.log(`OK ${label}`);
    }
  });
}
process.exit(invalid > 0 ? 1 : 0);
