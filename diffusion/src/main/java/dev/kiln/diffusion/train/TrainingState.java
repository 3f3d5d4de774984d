package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.train.optim.OptimizerState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Everything needed to continue a run exactly where it stopped, as a folder next to the model files (sd-scripts'
 * {@code <name>-state} naming): {@code network.safetensors} (trainable tensors in float32),
 * {@code optimizer.safetensors} (optimizer moments, with its counters in the metadata) and {@code train_state.json}
 * (sd-scripts' {@code current_epoch} / {@code current_step}, plus Kiln's position in the epoch, seed, loss window
 * and run identity). Randomness needs no saved generator state: every draw is derived from (seed, position), see
 * {@link StepRandom}.
 *
 * @param step              optimizer steps done
 * @param epoch             the epoch in progress (1-based), or the last finished one when {@code batchesDone} is 0
 * @param batchesDone       micro-batches of {@code epoch} already trained
 * @param epochEnded        whether the end-of-epoch work (epoch save, samples) of {@code epoch} is done
 * @param seed              the run's seed
 * @param lossWindow        {@link LossAverage#window()}
 * @param sessionId         sd-scripts' ss_session_id, kept across resumes
 * @param trainingStartedAt Unix time the run first started
 */
public record TrainingState(long step, int epoch, int batchesDone, boolean epochEnded, long seed, List<Double> lossWindow, long sessionId,
                            double trainingStartedAt) {

    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String NETWORK_FILE = "network.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "train_state.json";

    /**
     * Writes the state folder {@code dir} atomically (a reader sees the old folder or the complete new one).
     *
     * @param trainable the trainable tensors by file key
     */
    public void write(Path dir, Map<String, NDArray> trainable, OptimizerState optimizer, String optimizerDescription) {
        Path absolute = dir.toAbsolutePath();
        Path partial = absolute.resolveSibling(absolute.getFileName() + ".partial");
        try {
            deleteTree(partial);
            Files.createDirectories(partial);
            SafeTensorsWriter network = new SafeTensorsWriter();
            trainable.forEach((k, v) -> network.add(k, v, DType.F32));
            network.write(partial.resolve(NETWORK_FILE));
            SafeTensorsWriter moments = new SafeTensorsWriter()
                    .metadata("optimizer", optimizerDescription)
                    .metadata("scalars", JSON.writeValueAsString(optimizer.scalars()));
            optimizer.tensors().forEach((k, v) -> moments.add(k, v, DType.F32));
            moments.write(partial.resolve(OPTIMIZER_FILE));
            ObjectNode json = JSON.createObjectNode();
            json.put("current_epoch", epoch);
            json.put("current_step", step);
            ObjectNode kiln = json.putObject("kiln");
            kiln.put("batches_done_in_epoch", batchesDone);
            kiln.put("epoch_ended", epochEnded);
            kiln.put("seed", seed);
            kiln.put("session_id", sessionId);
            kiln.put("training_started_at", trainingStartedAt);
            lossWindow.forEach(kiln.putArray("loss_window")::add);
            Files.writeString(partial.resolve(STATE_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
            Path old = absolute.resolveSibling(absolute.getFileName() + ".old");
            deleteTree(old);
            if (Files.exists(absolute)) {
                Files.move(absolute, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, absolute, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write training state " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Reads {@code train_state.json} of a state folder. */
    public static TrainingState read(Path dir) {
        Path file = dir.resolve(STATE_FILE);
        try {
            JsonNode json = JSON.readTree(file.toFile());
            JsonNode kiln = json.path("kiln");
            if (!json.has("current_step") || !kiln.has("seed")) {
                throw new IllegalArgumentException(file + " is not a Kiln training state (needs current_step and kiln.seed;"
                        + " sd-scripts' accelerate states cannot be resumed by Kiln)");
            }
            List<Double> window = new ArrayList<>();
            kiln.path("loss_window").forEach(n -> window.add(n.asDouble()));
            return new TrainingState(json.path("current_step").asLong(), json.path("current_epoch").asInt(),
                    kiln.path("batches_done_in_epoch").asInt(), kiln.path("epoch_ended").asBoolean(),
                    kiln.path("seed").asLong(), window,
                    kiln.path("session_id").asLong(), kiln.path("training_started_at").asDouble());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read training state " + file + ": " + e.getMessage(), e);
        }
    }

    /** The trainable tensors saved in a state folder. */
    public static Map<String, NDArray> readNetwork(Path dir, NDManager manager) {
        try (SafeTensors st = SafeTensors.open(dir.resolve(NETWORK_FILE))) {
            return st.loadAll(manager);
        }
    }

    /** The optimizer state saved in a state folder, its arrays in {@code manager}. */
    public static OptimizerState readOptimizer(Path dir, NDManager manager) {
        try (SafeTensors st = SafeTensors.open(dir.resolve(OPTIMIZER_FILE))) {
            Map<String, Double> scalars = new LinkedHashMap<>();
            String json = st.metadata().getOrDefault("scalars", "{}");
            JSON.readTree(json).fields().forEachRemaining(e -> scalars.put(e.getKey(), e.getValue().asDouble()));
            return new OptimizerState(st.loadAll(manager), scalars);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read optimizer state in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies the tensors of a state folder ({@link #readNetwork}) into the live trained tensors, in place.
     *
     * @param why what differs when they do not fit (for the message)
     * @throws IllegalArgumentException naming the first tensor that is missing or of another shape, or the counts
     */
    public static void copyInto(Map<String, NDArray> live, Map<String, NDArray> saved, Path dir, String why) {
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray value = saved.get(e.getKey());
            if (value == null || !value.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException(dir + ": the saved state does not match this job's at '"
                        + e.getKey() + "' (" + (value == null ? "missing" : value.getShape() + " vs "
                        + e.getValue().getShape()) + "); " + why);
            }
            e.getValue().set(value.toFloatArray());
        }
        if (saved.size() != live.size()) {
            throw new IllegalArgumentException(dir + ": the saved state has " + saved.size() + " tensors, this job's "
                    + live.size() + "; " + why);
        }
    }

    /** Whether {@code dir} holds a complete Kiln state. */
    public static boolean isState(Path dir) {
        return Files.isRegularFile(dir.resolve(STATE_FILE)) && Files.isRegularFile(dir.resolve(NETWORK_FILE))
                && Files.isRegularFile(dir.resolve(OPTIMIZER_FILE));
    }

    /** Deletes a folder and its contents (missing is fine). */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
