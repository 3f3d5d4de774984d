package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ordered map of parameter names to shapes that a model config implies, with helpers to check a loaded
 * weight map against it and to create random weights of that layout.
 */
public final class ParameterShapes {

    private final String owner;
    private final Map<String, Shape> shapes = new LinkedHashMap<>();

    /** @param owner the model's name for error messages, e.g. {@code "UNet"} */
    public ParameterShapes(String owner) {
        this.owner = owner;
    }

    public Map<String, Shape> asMap() {
        return shapes;
    }

    public long count() {
        return shapes.values().stream().mapToLong(Shape::size).sum();
    }

    public void put(String name, long... shape) {
        shapes.put(name, new Shape(shape));
    }

    /** {@code <name>.weight [out,in]} and {@code <name>.bias [out]}. */
    public void linear(String name, long in, long out) {
        put(name + ".weight", out, in);
        put(name + ".bias", out);
    }

    /** {@code <name>.weight [out,in,k,k]} and {@code <name>.bias [out]}. */
    public void conv(String name, long in, long out, long kernel) {
        put(name + ".weight", out, in, kernel, kernel);
        put(name + ".bias", out);
    }

    /** A GroupNorm/LayerNorm affine: {@code <name>.weight [c]}, {@code <name>.bias [c]}. */
    public void norm(String name, long channels) {
        put(name + ".weight", channels);
        put(name + ".bias", channels);
    }

    /**
     * Fails naming the parameters that {@code weights} lacks or holds with another shape (extra entries are
     * allowed: a checkpoint may carry more).
     */
    public void validate(Map<String, NDArray> weights) {
        List<String> problems = new ArrayList<>();
        shapes.forEach((name, shape) -> {
            NDArray w = weights.get(name);
            if (w == null) {
                problems.add(name + " missing");
            } else if (!w.getShape().equals(shape)) {
                problems.add(name + " has shape " + w.getShape() + ", config implies " + shape);
            }
        });
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(owner + " weights do not match the config (" + problems.size()
                    + " problems): " + String.join("; ", problems.subList(0, Math.min(8, problems.size())))
                    + (problems.size() > 8 ? "; ..." : ""));
        }
    }

    /**
     * Random float32 weights: normal with std {@code 1/sqrt(fan_in)} for Linear/Conv kernels, zero biases,
     * unit norm scales. Seed the engine ({@code Engine.setRandomSeed}) for reproducibility.
     */
    public Map<String, NDArray> random(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> {
            NDArray w;
            if (name.endsWith(".bias")) {
                w = manager.zeros(shape);
            } else if (shape.dimension() == 1) {
                w = manager.ones(shape);
            } else {
                long fanIn = shape.size() / shape.get(0);
                w = manager.randomNormal(0f, (float) (1.0 / Math.sqrt(fanIn)), shape, DataType.FLOAT32);
            }
            out.put(name, w);
        });
        return out;
    }
}
