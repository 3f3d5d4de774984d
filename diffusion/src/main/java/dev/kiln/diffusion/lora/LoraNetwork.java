package dev.kiln.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.kiln.diffusion.nn.LayerCall;
import dev.kiln.diffusion.nn.LayerHook;
import dev.kiln.diffusion.nn.ScalarOps;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.safetensors.TensorInfo;
import dev.kiln.diffusion.train.optim.ParamGroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A kohya LoRA network ({@code networks.lora}): modules keyed by kohya name, applied to a model as a
 * {@link LayerHook}, merged into weights, saved and loaded with sd-scripts' key names
 * ({@code <name>.lora_down.weight}, {@code <name>.lora_up.weight}, {@code <name>.alpha}).
 */
public final class LoraNetwork {

    private static final String DOWN = ".lora_down.weight";
    private static final String UP = ".lora_up.weight";
    private static final String ALPHA = ".alpha";

    private final Map<String, LoraModule> modules;
    private final Map<String, String> metadata;

    private LoraNetwork(Map<String, LoraModule> modules, Map<String, String> metadata) {
        this.modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        this.metadata = Map.copyOf(metadata);
    }

    /**
     * A new network for {@code targets}, initialised as sd-scripts does: {@code lora_down} Kaiming-uniform with
     * a = √5 (U(±1/√fan_in), torch's Linear/Conv2d default), {@code lora_up} zeros, so the initial delta is 0.
     */
    public static LoraNetwork create(List<LoraTarget> targets, NDManager manager, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, LoraModule> out = new LinkedHashMap<>();
        for (LoraTarget t : targets) {
            Shape w = t.weightShape();
            Shape downShape = t.isConv() ? new Shape(t.rank(), w.get(1), w.get(2), w.get(3)) : new Shape(t.rank(), w.get(1));
            Shape upShape = t.isConv() ? new Shape(w.get(0), t.rank(), 1, 1) : new Shape(w.get(0), t.rank());
            double bound = 1.0 / Math.sqrt(t.fanIn());
            float[] down = new float[Math.toIntExact(downShape.size())];
            for (int i = 0; i < down.length; i++) {
                down[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            if (out.containsKey(t.loraName())) {
                throw new IllegalArgumentException("two LoRA targets are named " + t.loraName());
            }
            out.put(t.loraName(), new LoraModule(t.loraName(), libtorchOwned(manager.create(down, downShape)),
                    manager.zeros(upShape, DataType.FLOAT32), t.alpha()));
        }
        return new LoraNetwork(out, Map.of());
    }

    /**
     * A copy in libtorch-owned memory: an array made from Java data points into a Java buffer, which must not back
     * a trained parameter (in-place updates, gradients and views would outlive or race the buffer).
     */
    private static NDArray libtorchOwned(NDArray javaBacked) {
        NDArray copy = javaBacked.duplicate();
        javaBacked.close();
        return copy;
    }

    /**
     * Reads a kohya LoRA file (any float dtype, upcast to float32). A module without {@code alpha} gets alpha = rank
     * (old files). Keys of other formats (LoHa, LoKr, DoRA, SDXL) are refused naming the key.
     */
    public static LoraNetwork load(Path file, NDManager manager) {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, Map<String, String>> byModule = new TreeMap<>();
            for (String key : st.names()) {
                String suffix = key.endsWith(DOWN) ? DOWN : key.endsWith(UP) ? UP : key.endsWith(ALPHA) ? ALPHA : null;
                if (suffix == null) {
                    throw new IllegalArgumentException(file + ": key '" + key + "' is not a kohya LoRA key"
                            + " (<module>.lora_down.weight, .lora_up.weight or .alpha)");
                }
                String module = key.substring(0, key.length() - suffix.length());
                try {
                    ModelPart.of(module);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ": key '" + key + "': " + e.getMessage(), e);
                }
                byModule.computeIfAbsent(module, m -> new LinkedHashMap<>()).put(suffix, key);
            }
            Map<String, LoraModule> out = new LinkedHashMap<>();
            for (Map.Entry<String, Map<String, String>> e : byModule.entrySet()) {
                String name = e.getKey();
                Map<String, String> keys = e.getValue();
                if (!keys.containsKey(DOWN) || !keys.containsKey(UP)) {
                    throw new IllegalArgumentException(file + ": LoRA module '" + name + "' lacks "
                            + (keys.containsKey(DOWN) ? name + UP : name + DOWN));
                }
                requireFloat(st, file, name + DOWN);
                requireFloat(st, file, name + UP);
                NDArray down = st.load(name + DOWN, manager);
                NDArray up = st.load(name + UP, manager);
                float alpha = keys.containsKey(ALPHA) ? readAlpha(st, file, name + ALPHA) : down.getShape().get(0);
                try {
                    out.put(name, new LoraModule(name, down, up, alpha));
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException(file + ": " + ex.getMessage(), ex);
                }
            }
            return new LoraNetwork(out, st.metadata());
        }
    }

    private static void requireFloat(SafeTensors st, Path file, String key) {
        if (!st.info(key).dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(file + ": '" + key + "' is " + st.info(key).dtype()
                    + ", a LoRA weight must be a float tensor");
        }
    }

    private static float readAlpha(SafeTensors st, Path file, String key) {
        TensorInfo info = st.info(key);
        if (info.elementCount() != 1) {
            throw new IllegalArgumentException(file + ": '" + key + "' must hold one value, has shape "
                    + java.util.Arrays.toString(info.shape()));
        }
        // sd-scripts writes an int64 alpha when --network_alpha is left at its integer default
        return info.dtype().isFloatingPoint() ? st.readFloats(key)[0] : (float) st.readLongs(key)[0];
    }

    /** Every module, keyed by kohya name. */
    public Map<String, LoraModule> modules() {
        return modules;
    }

    /** The modules of one model, in network order. */
    public List<LoraModule> modules(ModelPart part) {
        return modules.values().stream().filter(m -> part.owns(m.name())).toList();
    }

    /** {@code __metadata__} of the file this network was loaded from (empty for a new network). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Fails, naming the modules, when a module of {@code part} has no layer in {@code parameters} (weight names of
     * that model) or does not fit its weight shape. Call before hooking or merging a file into a model.
     */
    public void checkFits(ModelPart part, Map<String, Shape> parameters) {
        Map<String, Shape> byLoraName = new LinkedHashMap<>();
        parameters.forEach((key, shape) -> {
            if (key.endsWith(".weight")) {
                byLoraName.put(part.loraName(key.substring(0, key.length() - ".weight".length())), shape);
            }
        });
        List<String> problems = new ArrayList<>();
        for (LoraModule m : modules(part)) {
            Shape base = byLoraName.get(m.name());
            if (base == null) {
                problems.add(m.name() + " matches no layer of the model");
            } else if (!base.equals(m.baseWeightShape())) {
                problems.add(m.name() + " fits a weight " + m.baseWeightShape() + ", the layer's is " + base);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("LoRA does not fit the " + part.name().toLowerCase() + " ("
                    + problems.size() + " modules): " + String.join("; ", problems.subList(0, Math.min(8, problems.size())))
                    + (problems.size() > 8 ? "; ..." : ""));
        }
    }

    /** A hook adding {@code multiplier * scale * up(down(x))} to every layer of {@code part} that has a module. */
    public LayerHook hook(ModelPart part, float multiplier) {
        return trainingHook(part, multiplier, LoraDropout.NONE, null);
    }

    /**
     * The hook for training: as {@link #hook} plus sd-scripts' dropouts. Module dropout draws from {@code random};
     * dropout and rank-dropout masks from the engine's random generator (seed it with {@code Engine.setRandomSeed}).
     */
    public LayerHook trainingHook(ModelPart part, float multiplier, LoraDropout dropout, Random random) {
        if (dropout.moduleDropout() != null && random == null) {
            throw new IllegalArgumentException("module_dropout needs a random generator");
        }
        return (call, output) -> {
            LoraModule m = modules.get(part.loraName(call.name()));
            if (m == null) {
                return output;
            }
            if (dropout.moduleDropout() != null && random.nextFloat() < dropout.moduleDropout()) {
                return output;
            }
            return output.add(branch(m, call, multiplier, dropout));
        };
    }

    private static NDArray branch(LoraModule m, LayerCall call, float multiplier, LoraDropout dropout) {
        NDArray h = m.applyDown(call);
        if (dropout.dropout() != null && dropout.dropout() > 0) {
            h = h.getNDArrayInternal().dropout(h, dropout.dropout(), true).head();
        }
        float scale = m.scale();
        if (dropout.rankDropout() != null && dropout.rankDropout() > 0) {
            long batch = h.getShape().get(0);
            NDArray keep = h.getManager().randomUniform(0f, 1f, new Shape(batch, m.rank()))
                    .gt(dropout.rankDropout()).toType(DataType.FLOAT32, false);
            // mask shape [B, r] broadcast over tokens ([B, L, r]) or pixels ([B, r, H, W])
            if (h.getShape().dimension() == 3) {
                keep = keep.expandDims(1);
            } else if (h.getShape().dimension() == 4) {
                keep = keep.expandDims(-1).expandDims(-1);
            }
            h = h.mul(keep);
            scale = scale / (1f - dropout.rankDropout());
        }
        return ScalarOps.mul(m.applyUp(h), multiplier * scale);
    }

    /**
     * kohya {@code merge_to}: a copy of {@code weights} in which every layer of {@code part} with a module holds
     * {@code W + multiplier * scale * up @ down}; other entries are the same arrays. New arrays live in the manager
     * of the weight they replace.
     */
    public Map<String, NDArray> merge(ModelPart part, Map<String, NDArray> weights, float multiplier) {
        checkFits(part, LoraTargets.shapes(weights));
        Map<String, NDArray> out = new LinkedHashMap<>(weights);
        for (LoraModule m : modules(part)) {
            String key = weightKey(part, m.name(), weights);
            NDArray base = weights.get(key);
            NDArray merged;
            try (NDScope scope = new NDScope()) {
                // intermediates close with the scope; the sum belongs to the base weight's manager
                merged = base.add(m.deltaWeight().mul(multiplier));
                NDScope.unregister(merged);
            }
            out.put(key, merged);
        }
        return out;
    }

    private static String weightKey(ModelPart part, String loraName, Map<String, NDArray> weights) {
        for (String key : weights.keySet()) {
            if (key.endsWith(".weight") && part.loraName(key.substring(0, key.length() - 7)).equals(loraName)) {
                return key;
            }
        }
        throw new IllegalArgumentException(loraName + " matches no layer of the model");
    }

    /** The trainable tensors of {@code part}, keyed by their file key ({@code <name>.lora_down.weight}, ...). */
    public Map<String, NDArray> parameters(ModelPart part) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (LoraModule m : modules(part)) {
            out.put(m.name() + DOWN, m.down());
            out.put(m.name() + UP, m.up());
        }
        return out;
    }

    /**
     * sd-scripts' {@code prepare_optimizer_params}: group "textencoder" at {@code textEncoderLr} (else
     * {@code defaultLr}), then "unet" at {@code unetLr} (else {@code defaultLr}); a group whose lr is 0 is dropped
     * (its modules stay in the network and are still saved). Groups without modules are omitted.
     */
    public List<ParamGroup> parameterGroups(Double textEncoderLr, Double unetLr, double defaultLr) {
        List<ParamGroup> groups = new ArrayList<>();
        addGroup(groups, "textencoder", parameters(ModelPart.TEXT_ENCODER), textEncoderLr != null ? textEncoderLr : defaultLr);
        addGroup(groups, "unet", parameters(ModelPart.UNET), unetLr != null ? unetLr : defaultLr);
        return groups;
    }

    private static void addGroup(List<ParamGroup> groups, String name, Map<String, NDArray> params, double lr) {
        if (!params.isEmpty() && lr != 0) {
            groups.add(new ParamGroup(name, lr, params));
        }
    }

    /** Marks every LoRA tensor as requiring a gradient (call once before training). */
    public void attachGradients() {
        for (LoraModule m : modules.values()) {
            m.down().setRequiresGradient(true);
            m.up().setRequiresGradient(true);
        }
    }

    /** Result of {@link #applyMaxNorm}: modules scaled, and mean / max of the delta norms after scaling. */
    public record MaxNormResult(int keysScaled, double meanNorm, double maxNorm) {
    }

    /**
     * sd-scripts {@code --scale_weight_norms}: for each module, {@code n = max(‖scale·up@down‖_F, max/2)}; when
     * {@code min(n, max)/n} is not 1, {@code up} and {@code down} are both multiplied by its square root.
     */
    public MaxNormResult applyMaxNorm(double maxNormValue) {
        int scaled = 0;
        double sum = 0;
        double largest = 0;
        for (LoraModule m : modules.values()) {
            double norm;
            try (NDScope scope = new NDScope()) {
                norm = m.deltaWeight().square().sum().sqrt().getFloat();
            }
            double clamped = Math.max(norm, maxNormValue / 2);
            double ratio = Math.min(clamped, maxNormValue) / clamped;
            if (ratio != 1) {
                scaled++;
                float factor = (float) Math.sqrt(ratio);
                m.down().muli(factor);
                m.up().muli(factor);
            }
            double after = norm * ratio;
            sum += after;
            largest = Math.max(largest, after);
        }
        return new MaxNormResult(scaled, modules.isEmpty() ? 0 : sum / modules.size(), largest);
    }

    /** Result of {@link #loadWeights}: file keys no module took, and module keys the file lacked. */
    public record WeightsReport(List<String> unexpectedKeys, List<String> missingKeys) {
    }

    /**
     * sd-scripts {@code --network_weights}: copies {@code lora_down}/{@code lora_up} values of matching modules from
     * a file into this network (non-strict; a shape mismatch fails naming the key). Each module keeps its own alpha
     * (sd-scripts trains with the network's scale whatever alpha the file holds). Call before
     * {@link #attachGradients}: the values are written in place.
     */
    public WeightsReport loadWeights(Path file) {
        List<String> unexpected = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            for (ModelPart p : ModelPart.values()) {
                params.putAll(parameters(p));
            }
            for (String key : st.names()) {
                if (!params.containsKey(key) && !(key.endsWith(ALPHA)
                        && modules.containsKey(key.substring(0, key.length() - ALPHA.length())))) {
                    unexpected.add(key);
                }
            }
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                String key = e.getKey();
                if (!st.contains(key)) {
                    missing.add(key);
                    continue;
                }
                NDArray target = e.getValue();
                long[] shape = st.info(key).shape();
                if (!target.getShape().equals(new Shape(shape))) {
                    throw new IllegalArgumentException(file + ": '" + key + "' has shape "
                            + java.util.Arrays.toString(shape) + ", the network's is " + target.getShape());
                }
                requireFloat(st, file, key);
                target.set(st.readFloats(key));
            }
        }
        return new WeightsReport(List.copyOf(unexpected), List.copyOf(missing));
    }

    /**
     * Writes the network as sd-scripts does: every module's {@code lora_down.weight}, {@code lora_up.weight} and a
     * 0-dim {@code alpha}, all in {@code precision}'s dtype, with {@code metadata} as {@code __metadata__}.
     */
    public Path save(Path file, Map<String, String> metadata, SavePrecision precision) {
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata(metadata);
        for (LoraModule m : new TreeMap<>(modules).values()) {
            writer.addFloats(m.name() + ALPHA, precision.dtype(), new long[0], new float[] {m.alpha()});
            writer.add(m.name() + DOWN, m.down(), precision.dtype());
            writer.add(m.name() + UP, m.up(), precision.dtype());
        }
        return writer.write(file);
    }
}
