package dev.kiln.diffusion.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.unet.UNet2DConditionModel;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What differs between sd-scripts' trainers around the shared {@link DiffusionTrainer} step: the trainable tensors,
 * the text encoder and UNet a micro-batch runs through, caption replacements, what happens after an optimizer step,
 * and the model file a save writes. Implementations: {@link LoraMethod} ({@code train_network.py}),
 * {@link TextualInversionMethod} ({@code train_textual_inversion.py}) and {@link FullModelMethod}
 * ({@code train_db.py}, {@code fine_tune.py}).
 */
public interface TrainingMethod {

    /**
     * The parameter groups the optimizer updates after {@code step} optimizer steps, at their base learning rates
     * (before the schedule). Every tensor in them receives a gradient in the micro-batches of that step.
     */
    List<ParamGroup> parameterGroups(long step);

    /**
     * The tensors that receive gradients in the micro-batches of optimizer step {@code step}, by the names the
     * groups use: their global norm is clipped and their gradients zeroed after the step. A superset of the groups'
     * tensors (a LoRA group at learning rate 0 is left out of the optimizer but still counts in the norm).
     */
    Map<String, NDArray> gradientTensors(long step);

    /** Every tensor that defines the trained weights, by a stable key: written to and read from a state folder. */
    Map<String, NDArray> stateTensors();

    /**
     * Copies saved values (as {@link #stateTensors} wrote them) into the live tensors.
     *
     * @throws IllegalArgumentException naming the key when the saved tensors do not fit this job
     */
    void restoreState(Map<String, NDArray> saved, Path from);

    /** The text encoder a micro-batch of optimizer step {@code step} (0-based) runs through. */
    ClipTextModel textEncoder(long step, Random moduleDropout);

    /** The UNet a micro-batch runs through. */
    UNet2DConditionModel unet(Random moduleDropout);

    /** The tokenizer captions go through (Textual Inversion adds its tokens). */
    ClipTokenizer tokenizer();

    /** sd-scripts' dataset replacements ({@code add_replacement}): "" replaces the whole caption by a random choice. */
    default Map<String, List<String>> captionReplacements() {
        return Map.of();
    }

    /** Work after each optimizer step (LoRA max-norm, Textual Inversion's restore of the frozen rows). */
    default void afterOptimizerStep() {
    }

    /** The extension of saved model files without the dot, or null when a save is a folder (diffusers). */
    String fileExtension();

    /** Where a save happens: sd-scripts' metadata differs for step, epoch and final saves. */
    enum SaveKind { STEP, EPOCH, FINAL }

    /**
     * Writes the trained model to {@code file}.
     *
     * @param step  optimizer steps done
     * @param epoch the epoch sd-scripts records for this save (epoch saves: the epoch; step saves: epoch - 1)
     * @param savedAt Unix time of the save
     */
    void save(Path file, SaveKind kind, long step, long epoch, double savedAt);

    /** A generator rendering samples with the weights as trained so far (arrays it makes live in {@code manager}). */
    ImageGenerator sampler(int clipSkip, NDManager manager);

    /** sd-scripts' optimizer description, for metadata. */
    default void optimizerDescription(String description) {
    }
}
