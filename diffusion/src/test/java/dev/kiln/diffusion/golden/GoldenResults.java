package dev.kiln.diffusion.golden;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Outcome of the golden checks of one config folder: counts, failure lines and which golden tensors were covered. */
public final class GoldenResults {

    private int checked;
    private int passed;
    private final List<String> failed = new ArrayList<>();
    private final Set<String> covered = new LinkedHashSet<>();

    /**
     * Records one check of golden tensor {@code tensor} of {@code file} (e.g. {@code text_encoder.safetensors});
     * {@code failure} is null when it matched. {@code label} says which variant ran (e.g. the loading path).
     */
    public synchronized void check(String file, String tensor, String label, String failure) {
        covered.add(file + ":" + tensor);
        checked++;
        if (failure == null) {
            passed++;
        } else {
            failed.add("[" + label + "] " + failure);
        }
    }

    /** Marks a golden tensor as consumed as an input (token ids, noise, ...), not compared. */
    public synchronized void input(String file, String tensor) {
        covered.add(file + ":" + tensor);
    }

    /** A failure that is not about one tensor (a model that cannot be loaded, an exception in a group). */
    public synchronized void fail(String label, String failure) {
        checked++;
        failed.add("[" + label + "] " + failure);
    }

    public synchronized int checked() {
        return checked;
    }

    public synchronized int passed() {
        return passed;
    }

    public synchronized List<String> failed() {
        return List.copyOf(failed);
    }

    public synchronized boolean covers(String file, String tensor) {
        return covered.contains(file + ":" + tensor);
    }
}
