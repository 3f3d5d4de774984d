package dev.kiln.diffusion.lora;

import dev.kiln.diffusion.safetensors.DType;

/** sd-scripts' {@code --save_precision}: the dtype of every saved tensor, alpha included. */
public enum SavePrecision {
    /** {@code float}, and also sd-scripts' default (None keeps the float32 training dtype). */
    FLOAT(DType.F32),
    FP16(DType.F16),
    BF16(DType.BF16);

    private final DType dtype;

    SavePrecision(DType dtype) {
        this.dtype = dtype;
    }

    public DType dtype() {
        return dtype;
    }

    /** Parses sd-scripts' values {@code float}, {@code fp16}, {@code bf16}; null or "None" mean float32. */
    public static SavePrecision parse(String value) {
        if (value == null || value.equals("None") || value.isEmpty()) {
            return FLOAT;
        }
        return switch (value) {
            case "float" -> FLOAT;
            case "fp16" -> FP16;
            case "bf16" -> BF16;
            default -> throw new IllegalArgumentException("save_precision '" + value
                    + "' is not one of float, fp16, bf16");
        };
    }
}
