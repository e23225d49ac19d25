// Fine-tuning pretrained GGUF models with LoRA and QLoRA (see docs/FINETUNING.md).
