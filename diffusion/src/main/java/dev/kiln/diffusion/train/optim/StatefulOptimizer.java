package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Per-parameter state kept in the optimizer's own manager, so no step scope can close it. */
abstract class StatefulOptimizer implements Optimizer {

    private final String description;
    private NDManager stateManager;
    private final Map<String, NDArray> slots = new HashMap<>();
    private final Map<String, Integer> steps = new HashMap<>();

    StatefulOptimizer(String className, OptimizerArgs args) {
        String shown = args.describe();
        this.description = className + (shown.isEmpty() ? "" : "(" + shown + ")");
    }

    @Override
    public String description() {
        return description;
    }

    /** The state slot {@code slot} of parameter {@code name}, zeros shaped like {@code like} on first use. */
    NDArray slot(String name, String slot, NDArray like) {
        return slot(name, slot, like.getShape());
    }

    NDArray slot(String name, String slot, ai.djl.ndarray.types.Shape shape) {
        return slots.computeIfAbsent(name + "#" + slot, k -> {
            NDArray zeros = manager().zeros(shape);
            // state outlives the step's NDScope
            NDScope.unregister(zeros);
            return zeros;
        });
    }

    boolean hasSlot(String name, String slot) {
        return slots.containsKey(name + "#" + slot);
    }

    void putSlot(String name, String slot, NDArray value) {
        value.attach(manager());
        NDScope.unregister(value);
        NDArray old = slots.put(name + "#" + slot, value);
        if (old != null && old != value) {
            old.close();
        }
    }

    /** Call once per step with any parameter before creating state: state lives on the parameters' device. */
    void useDeviceOf(NDArray param) {
        if (stateManager == null) {
            stateManager = NDManager.newBaseManager(param.getDevice());
        }
    }

    NDManager manager() {
        if (stateManager == null) {
            stateManager = NDManager.newBaseManager();
        }
        return stateManager;
    }

    /**
     * Runs {@code update} for every parameter of every group that has a gradient, each in its own NDScope so the
     * temporaries are closed; in-place changes to the parameter and the state remain.
     */
    void forEachParam(List<ParamGroup> groups, Map<String, NDArray> grads, ParamUpdate update) {
        for (ParamGroup group : groups) {
            for (Map.Entry<String, NDArray> p : group.params().entrySet()) {
                NDArray grad = grads.get(p.getKey());
                if (grad == null) {
                    continue;
                }
                checkGrad(p.getKey(), p.getValue(), grad);
                useDeviceOf(p.getValue());
                try (NDScope scope = new NDScope()) {
                    update.apply(group, p.getKey(), p.getValue(), grad);
                }
            }
        }
    }

    /** One parameter's update. */
    @FunctionalInterface
    interface ParamUpdate {
        void apply(ParamGroup group, String name, NDArray param, NDArray grad);
    }

    /** Checks a gradient's shape before any state changes. */
    static void checkGrad(String name, NDArray param, NDArray grad) {
        if (!param.getShape().equals(grad.getShape())) {
            throw new IllegalArgumentException("gradient of '" + name + "' has shape " + grad.getShape()
                    + ", the parameter " + param.getShape());
        }
    }

    @Override
    public OptimizerState state() {
        return new OptimizerState(new TreeMap<>(slots), scalars());
    }

    @Override
    public void restore(OptimizerState state) {
        close();
        for (Map.Entry<String, NDArray> e : state.tensors().entrySet()) {
            int hash = e.getKey().lastIndexOf('#');
            if (hash <= 0) {
                throw new IllegalArgumentException("optimizer state tensor '" + e.getKey() + "' is not <param>#<slot>");
            }
            useDeviceOf(e.getValue());
            NDArray copy = manager().create(e.getValue().getShape(), e.getValue().getDataType());
            e.getValue().copyTo(copy);
            NDScope.unregister(copy);
            slots.put(e.getKey(), copy);
        }
        restoreScalars(state.scalars());
    }

    /** Counts one more update of parameter {@code name} and returns the count (torch's per-parameter {@code step}). */
    int nextStep(String name) {
        return steps.merge(name, 1, Integer::sum);
    }

    /** The optimizer's non-tensor state: the per-parameter step counts as {@code step/<param>}. */
    Map<String, Double> scalars() {
        Map<String, Double> out = new LinkedHashMap<>();
        steps.forEach((name, t) -> out.put("step/" + name, t.doubleValue()));
        return out;
    }

    /** Restores what {@link #scalars} returned. */
    void restoreScalars(Map<String, Double> scalars) {
        steps.clear();
        scalars.forEach((key, value) -> {
            if (key.startsWith("step/")) {
                steps.put(key.substring(5), value.intValue());
            }
        });
    }

    @Override
    public void close() {
        if (stateManager != null) {
            stateManager.close();
            stateManager = null;
        }
        slots.clear();
    }
}
