package dev.kiln.diffusion.lora;

/**
 * sd-scripts' LoRA regularisation during training (all null = off): {@code dropout} on the rank activations
 * ({@code --network_dropout}), {@code rank_dropout} (whole ranks per sample, scale rescaled by {@code 1/(1-p)}) and
 * {@code module_dropout} (the whole module skipped for a step).
 */
public record LoraDropout(Float dropout, Float rankDropout, Float moduleDropout) {

    public static final LoraDropout NONE = new LoraDropout(null, null, null);

    public LoraDropout {
        check("network_dropout", dropout);
        check("rank_dropout", rankDropout);
        check("module_dropout", moduleDropout);
    }

    private static void check(String key, Float p) {
        if (p != null && !(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException(key + " " + p + " must be in [0, 1)");
        }
    }
}
