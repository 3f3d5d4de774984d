package dev.kiln.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.safetensors.SafeTensors;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One golden safetensors file of a config together with its manifest tolerances, and the match rule
 * {@code |a - g| <= atol + rtol * |g|} elementwise.
 */
public final class GoldenTensors implements AutoCloseable {

    private final String label;
    private final SafeTensors file;
    private final JsonNode entries;

    /** Opens {@code golden/<fileName>} of {@code configFolder}. */
    public GoldenTensors(Path configFolder, String fileName) {
        String rel = "golden/" + fileName;
        this.label = configFolder.getFileName() + "/" + rel;
        this.file = SafeTensors.open(configFolder.resolve(rel));
        this.entries = GoldenData.fileEntry(GoldenData.manifest(configFolder), rel).path("tensors");
    }

    public List<String> names() {
        return file.names().stream().sorted().toList();
    }

    public NDArray load(String name, NDManager manager) {
        return file.load(name, manager);
    }

    /** A value captured from the Java side: shape plus float data. */
    public record Captured(long[] shape, float[] data) {
        public static Captured of(NDArray a) {
            return new Captured(a.getShape().getShape(), a.toFloatArray());
        }
    }

    /** Checks {@code actual} against golden {@code name}; returns null on a match, else a failure line. */
    public String check(String name, Captured actual) {
        JsonNode entry = entries.path(name);
        if (entry.isMissingNode()) {
            return label + " " + name + ": no manifest entry";
        }
        long[] shape = file.info(name).shape();
        if (actual == null) {
            return label + " " + name + ": not produced";
        }
        if (!Arrays.equals(shape, actual.shape())) {
            return label + " " + name + ": shape " + Arrays.toString(actual.shape()) + " != golden "
                    + Arrays.toString(shape);
        }
        double atol = entry.path("atol").asDouble();
        double rtol = entry.path("rtol").asDouble();
        float[] golden = file.readFloats(name);
        int bad = 0;
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < golden.length; i++) {
            double diff = Math.abs((double) actual.data()[i] - golden[i]);
            double excess = diff - (atol + rtol * Math.abs(golden[i]));
            if (!(excess <= 0)) {
                bad++;
                if (worstAt < 0 || excess > worst || Double.isNaN(excess)) {
                    worst = excess;
                    worstAt = i;
                }
            }
        }
        if (bad == 0) {
            return null;
        }
        return String.format("%s %s: %d/%d elements outside atol %.1e rtol %.1e; worst at %d: java %.7g golden %.7g",
                label, name, bad, golden.length, atol, rtol, worstAt, actual.data()[worstAt], golden[worstAt]);
    }

    /** Checks every name in {@code captured} that the golden file holds; returns failure lines. */
    public List<String> checkAll(Map<String, Captured> captured, List<String> goldenNames) {
        List<String> failures = new ArrayList<>();
        for (String name : goldenNames) {
            String f = check(name, captured.get(name));
            if (f != null) {
                failures.add(f);
            }
        }
        return failures;
    }

    /** A listener that copies every reported activation as {@code act.<name>} into {@code into}. */
    public static ActivationListener recorder(Map<String, Captured> into) {
        return (name, value) -> into.put("act." + name, Captured.of(value));
    }

    public static Map<String, Captured> newCapture() {
        return new LinkedHashMap<>();
    }

    @Override
    public void close() {
        file.close();
    }
}
