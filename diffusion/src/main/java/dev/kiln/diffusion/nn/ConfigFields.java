package dev.kiln.diffusion.nn;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Typed access to the fields of a diffusers config.json with defaults, per-block expansion of scalar-or-list
 * values, and errors that name the source and the field.
 */
public record ConfigFields(JsonNode json, String source) {

    public boolean has(String key) {
        JsonNode v = json.get(key);
        return v != null && !v.isNull();
    }

    public IllegalArgumentException error(String key, String message) {
        return new IllegalArgumentException(source + ": field '" + key + "' " + message);
    }

    public void requireAbsent(String key) {
        if (has(key)) {
            throw error(key, "is not supported (value " + json.get(key) + ")");
        }
    }

    public void requireValue(String key, String expected) {
        if (has(key) && !json.get(key).asText().equals(expected)) {
            throw error(key, "must be '" + expected + "', got " + json.get(key));
        }
    }

    public String string(String key, String dflt) {
        if (!json.has(key)) {
            return dflt;
        }
        JsonNode v = json.get(key);
        if (v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw error(key, "must be a string, got " + v);
        }
        return v.asText();
    }

    public List<String> strings(String key) {
        JsonNode v = json.get(key);
        if (v == null || !v.isArray() || v.isEmpty()) {
            throw error(key, "must be a non-empty list");
        }
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return List.copyOf(out);
    }

    public boolean bool(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = json.get(key);
        if (!v.isBoolean()) {
            throw error(key, "must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    public double number(String key, double dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = json.get(key);
        if (!v.isNumber()) {
            throw error(key, "must be a number, got " + v);
        }
        return v.asDouble();
    }

    /** A non-negative integer field, or {@code dflt} when absent or null. */
    public int integer(String key, int dflt) {
        if (!has(key)) {
            return dflt;
        }
        return positive(key, json.get(key));
    }

    private int positive(String key, JsonNode v) {
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw error(key, "must be a non-negative integer, got " + v);
        }
        return v.asInt();
    }

    /** A scalar repeated per block, or a list with exactly one entry per block. */
    public int[] perBlock(String key, int blocks, Integer dflt) {
        int[] out = new int[blocks];
        if (!has(key)) {
            if (dflt == null) {
                throw error(key, "is required");
            }
            Arrays.fill(out, dflt);
            return out;
        }
        JsonNode v = json.get(key);
        if (v.isArray()) {
            if (v.size() != blocks) {
                throw error(key, "has " + v.size() + " entries for " + blocks + " blocks");
            }
            for (int i = 0; i < blocks; i++) {
                out[i] = positive(key, v.get(i));
            }
        } else {
            Arrays.fill(out, positive(key, v));
        }
        for (int x : out) {
            if (x == 0) {
                throw error(key, "must be positive");
            }
        }
        return out;
    }

    public boolean[] boolPerBlock(String key, int blocks) {
        boolean[] out = new boolean[blocks];
        if (!has(key)) {
            return out;
        }
        JsonNode v = json.get(key);
        if (v.isArray()) {
            if (v.size() != blocks) {
                throw error(key, "has " + v.size() + " entries for " + blocks + " blocks");
            }
            for (int i = 0; i < blocks; i++) {
                out[i] = v.get(i).asBoolean();
            }
        } else {
            Arrays.fill(out, bool(key, false));
        }
        return out;
    }

}
