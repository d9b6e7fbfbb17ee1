// ONNX Runtime (CPU EP, fp32) on a CLIP image tower exported by bench/export_onnx.py: the fair fp32
// peer of `zeroclip bench` (Debian's PyTorch fp32 runs on a generic BLAS).
//
// Timing:  node bench/onnxruntime_bench.mjs --model M.onnx [--batch-size 32] [--threads 2]
//              [--batches 3] [--image-size 224]
//          → {"images_per_s":…, "ms_per_batch":…, "batch_size":…, "threads":…} after one warm-up batch.
// One run: node bench/onnxruntime_bench.mjs --model M.onnx --run-input in.f32 --run-output out.f32
//              [--batch-size B] [--image-size 224]
//          feeds raw little-endian float32 pixels (B×3×S×S) and writes the raw float32 embeddings,
//          so export_onnx.py can compare them with its torch tower.
// onnxruntime-node lives in bench/onnx (cd bench/onnx && npm install).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), "onnx", "package.json"));
const ort = require("onnxruntime-node");

function parseArgs(argv) {
  const args = { batchSize: 32, threads: 2, batches: 3, imageSize: 224 };
  const names = {
    "--model": "model", "--batch-size": "batchSize", "--threads": "threads", "--batches": "batches",
    "--image-size": "imageSize", "--run-input": "runInput", "--run-output": "runOutput",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`bad argument '${argv[i]}' (see the header of this script)`);
    args[key] = ["model", "runInput", "runOutput"].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!args.model) throw new Error("--model is required");
  return args;
}

// Deterministic pixels in [-2, 2], about the range of CLIP-normalised images.
function syntheticPixels(count) {
  const data = new Float32Array(count);
  let state = 12345;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = (state / 4294967296) * 4 - 2;
  }
  return data;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const shape = [args.batchSize, 3, args.imageSize, args.imageSize];
  const count = shape.reduce((a, b) => a * b, 1);
  const run = async (pixels) => {
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", pixels, shape) };
    return (await session.run(feeds))[session.outputNames[0]];
  };

  if (args.runInput) {
    const bytes = readFileSync(args.runInput);
    if (bytes.length !== count * 4) throw new Error(`${args.runInput}: ${bytes.length} bytes, expected ${count * 4}`);
    const pixels = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const output = await run(pixels);
    writeFileSync(args.runOutput, Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength));
    return;
  }

  const pixels = syntheticPixels(count);
  await run(pixels); // warm-up: the first run allocates and plans
  const start = process.hrtime.bigint();
  for (let i = 0; i < args.batches; i++) await run(pixels);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({
    images_per_s: (args.batches * args.batchSize) / seconds,
    ms_per_batch: (seconds * 1000) / args.batches,
    batch_size: args.batchSize,
    threads: args.threads,
  }));
}

main().catch((error) => {
  console.error(`onnxruntime_bench: ${error.message}`);
  process.exit(1);
});
