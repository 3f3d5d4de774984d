package dev.kiln.diffusion.lora;

/**
 * The model a kohya LoRA module belongs to, with sd-scripts' key prefix for SD 1.x / 2.x files
 * ({@code lora_unet_<diffusers module path>} and {@code lora_te_<transformers module path>}, dots as underscores).
 */
public enum ModelPart {
    TEXT_ENCODER("lora_te"),
    UNET("lora_unet");

    private final String prefix;

    ModelPart(String prefix) {
        this.prefix = prefix;
    }

    /** The key prefix, e.g. {@code lora_unet}. */
    public String prefix() {
        return prefix;
    }

    /** kohya's module name for a diffusers/transformers module path: {@code prefix + "_" + path} with "." as "_". */
    public String loraName(String modulePath) {
        return (prefix + "." + modulePath).replace('.', '_');
    }

    /** True when {@code loraName} belongs to this part. */
    public boolean owns(String loraName) {
        return loraName.startsWith(prefix + "_");
    }

    /** The part owning a kohya module name; fails naming it for SDXL ({@code lora_te1_}) or unknown prefixes. */
    public static ModelPart of(String loraName) {
        for (ModelPart p : values()) {
            if (p.owns(loraName)) {
                return p;
            }
        }
        if (loraName.startsWith("lora_te1_") || loraName.startsWith("lora_te2_")) {
            throw new IllegalArgumentException("LoRA module '" + loraName
                    + "' is an SDXL text-encoder module (lora_te1_/lora_te2_); only SD 1.x/2.x LoRAs are supported");
        }
        throw new IllegalArgumentException("LoRA module '" + loraName
                + "' has no kohya SD 1.x/2.x prefix (lora_unet_ or lora_te_)");
    }
}
