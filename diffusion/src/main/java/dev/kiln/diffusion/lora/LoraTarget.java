package dev.kiln.diffusion.lora;

import ai.djl.ndarray.types.Shape;

/**
 * A layer that gets a LoRA module: its kohya name, its module path in the model's weight map, the base weight
 * shape and the module's rank and alpha.
 */
public record LoraTarget(String loraName, String modulePath, Shape weightShape, int rank, float alpha) {

    public boolean isConv() {
        return weightShape.dimension() == 4;
    }

    /** fan_in of {@code lora_down}: in_features, or in_channels·kh·kw for a conv. */
    public long fanIn() {
        return weightShape.size() / weightShape.get(0);
    }
}
