// Khronos' glTF validator on GLB files: node scripts/gltf_validate.js A.glb [B.glb ...] prints one JSON report
// per file ({file, errors, warnings, infos, hints, messages}) as a JSON array. The validator is the npm package
// gltf-validator, installed by scripts/test.sh into .tools/gltf (or the folder in $GLTF_VALIDATOR_DIR).
"use strict";
const fs = require("fs");
const path = require("path");

const dir = process.env.GLTF_VALIDATOR_DIR || path.join(__dirname, "..", ".tools", "gltf");
const validator = require(path.join(dir, "node_modules", "gltf-validator"));

async function main(files) {
  const out = [];
  for (const file of files) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), { maxIssues: 50 });
    const issues = report.issues;
    out.push({
      file,
      validator: report.validatorVersion,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      infos: issues.numInfos,
      hints: issues.numHints,
      messages: issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer || ""}: ${m.message}`),
      extensionsUsed: report.info ? report.info.extensionsUsed || [] : [],
    });
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
