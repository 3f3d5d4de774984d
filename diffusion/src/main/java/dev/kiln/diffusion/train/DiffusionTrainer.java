package dev.kiln.diffusion.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.nn.ScalarOps;
import dev.kiln.diffusion.scheduler.NoiseSchedule;
import dev.kiln.diffusion.scheduler.SchedulerConfig;
import dev.kiln.diffusion.textencoder.ClipTextModel;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import dev.kiln.diffusion.tokenizer.TokenChunks;
import dev.kiln.diffusion.train.latent.LatentSource;
import dev.kiln.diffusion.train.optim.GradientClipping;
import dev.kiln.diffusion.train.optim.Optimizer;
import dev.kiln.diffusion.train.optim.Optimizers;
import dev.kiln.diffusion.train.optim.ParamGroup;
import dev.kiln.diffusion.train.schedule.LrSchedule;
import dev.kiln.diffusion.train.schedule.LrSchedules;
import dev.kiln.diffusion.unet.UNet2DConditionModel;
import dev.kiln.model.dataset.BatchSchedule;
import dev.kiln.model.dataset.CaptionProcessor;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.SubsetParams;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * The training step sd-scripts' trainers share ({@code train_network.py}, {@code train_db.py}, {@code fine_tune.py},
 * {@code train_textual_inversion.py}) on SD 1.x / 2.x: per micro-batch cached latents × the VAE scaling factor,
 * captions processed and tokenized, noise and timesteps, the text encoder and UNet of the {@link TrainingMethod}, the
 * loss; gradients accumulated over {@code gradient_accumulation_steps} micro-batches, clipped to
 * {@code max_grad_norm} as one global norm, then the optimizer and LR schedule step. What is trained and saved is
 * the method's; saving, sampling and state files are delegated to a {@link RunOutputs}.
 *
 * <p>Every random draw is a function of (seed, position) ({@link StepRandom}), and the dataset order is replayed from
 * the first epoch, so a run resumed from a saved {@link TrainingState} continues bit-for-bit like an uninterrupted one
 * on the same machine. One instance trains once; DJL allows one gradient collector per JVM at a time.
 */
public final class DiffusionTrainer {

    /**
     * What to train.
     *
     * @param plan      the dataset engine's plan (datasets, buckets, captions, total steps)
     * @param model     the base model (float32)
     * @param tokenizer the model's tokenizer
     * @param latents   each sample's cached latents
     */
    public record Setup(TrainingSettings settings, DatasetPlan plan, StableDiffusionModel model, ClipTokenizer tokenizer,
                       LatentSource latents) {
    }

    /** How a run ended. */
    public enum Status { COMPLETED, CANCELLED }

    /** The end of a run: its status, the optimizer steps done and the last micro-batch loss. */
    public record Result(Status status, long steps, double lastLoss) {
    }

    private final Setup setup;
    private final TrainingSettings settings;
    private final TrainingMethod method;
    private final Optimizer optimizer;
    private final LrSchedule lrSchedule;
    private final NoiseSchedule noiseSchedule;
    private final TrainingLoss loss;

    /** The trainer of {@code method} (whose tensors are ready to train) with the optimizer of the settings. */
    public DiffusionTrainer(Setup setup, TrainingMethod method) {
        this.setup = setup;
        this.settings = setup.settings();
        this.method = method;
        checkModel(setup);
        refuseUnsupportedSubsets(setup.plan());
        this.optimizer = Optimizers.create(settings.optimizerType(), settings.optimizerArgs());
        method.optimizerDescription(optimizer.description());
        this.lrSchedule = LrSchedules.create(settings.lrScheduler(), settings.warmupSteps(), settings.totalSteps(),
                settings.numCycles(), settings.power(), settings.learningRate());
        SchedulerConfig training = SchedulerConfig.kohya(settings.loss().vParameterization());
        NoiseSchedule plain = NoiseSchedule.of(training);
        this.noiseSchedule = settings.zeroTerminalSnr() ? NoiseSchedule.of(training.withRescaleBetasZeroSnr(true)) : plain;
        // sd-scripts computes all_snr before the zero-terminal-SNR fix: the loss weights keep the original SNR
        this.loss = new TrainingLoss(settings.loss(), plain.snr(), noiseSchedule.alphasCumprod());
    }

    /** The clip_skip and vocabulary checks every method needs before building its tensors. */
    public static void checkModel(Setup setup) {
        StableDiffusionModel model = setup.model();
        int layers = model.textEncoderConfig().numHiddenLayers();
        if (setup.settings().clipSkip() < 1 || setup.settings().clipSkip() > layers) {
            throw new IllegalArgumentException("clip_skip must be between 1 and the text encoder's " + layers
                    + " layers, got " + setup.settings().clipSkip());
        }
        if (setup.tokenizer().vocabSize() > model.textEncoderConfig().vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + setup.tokenizer().vocabSize()
                    + " token ids but the model's text encoder only " + model.textEncoderConfig().vocabSize());
        }
    }

    /**
     * The first text-encoder layer that does not reach the loss: with clip_skip k the last k-1 layers give no
     * gradient (torch leaves their grads None and the optimizer skips them), so methods leave them out of training.
     */
    public static int unusedTextEncoderLayersFrom(Setup setup) {
        return setup.model().textEncoderConfig().numHiddenLayers() - (setup.settings().clipSkip() - 1);
    }

    private static void refuseUnsupportedSubsets(DatasetPlan plan) {
        for (DatasetPlan.Dataset d : plan.datasets()) {
            for (SubsetParams s : d.subsets()) {
                if (s.randomCrop()) {
                    throw new IllegalArgumentException(s.table() + ".random_crop: Kiln trains from cached latents,"
                            + " which fix the crop (sd-scripts refuses random_crop with cache_latents too)");
                }
                if (s.colorAug()) {
                    throw new IllegalArgumentException(s.table() + ".color_aug: Kiln trains from cached latents,"
                            + " which fix the colours (sd-scripts refuses color_aug with cache_latents too)");
                }
            }
        }
    }

    /** What this run trains and saves. */
    public TrainingMethod method() {
        return method;
    }

    /** The LoRA network of a LoRA run. */
    public LoraNetwork network() {
        if (method instanceof LoraMethod lora) {
            return lora.network();
        }
        throw new IllegalStateException("this run trains no LoRA network");
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** The run's setup (plan, model, settings). */
    public Setup setup() {
        return setup;
    }

    /** Every tensor of the trained weights by state key (what a state folder holds). */
    public Map<String, NDArray> allParameters() {
        return method.stateTensors();
    }

    /** Writes the training state folder {@code dir} for {@code state}. */
    public void saveState(java.nio.file.Path dir, TrainingState state) {
        state.write(dir, method.stateTensors(), optimizer.state(), optimizer.description());
    }

    /** Loads the trained weights and optimizer state of a state folder written by {@link #saveState}. */
    public void restore(java.nio.file.Path dir, NDManager manager) {
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> saved = TrainingState.readNetwork(dir, scope);
            method.restoreState(saved, dir);
            optimizer.restore(TrainingState.readOptimizer(dir, scope));
        }
    }

    /**
     * Runs the loop from {@code start} (a fresh {@link TrainingState} or one read back to resume) to
     * {@code plan.totalSteps()}.
     */
    public Result train(TrainingState start, RunOutputs outputs, TrainingListener listener, TrainingControl control,
                        NDManager manager) {
        // libtorch's grad mode is per thread and on by default; DJL switches it off only on the thread that loaded
        // the engine. Outside the gradient collector it must be off here too: the optimizer updates leaf tensors
        // in place, and sampling must not record a graph
        JniUtils.setGradMode(false);
        DatasetPlan plan = setup.plan();
        long totalSteps = plan.totalSteps();
        int epochs = Math.toIntExact(plan.epochs());
        long seed = settings.seed();
        int accumulation = settings.gradientAccumulationSteps();
        List<BatchSchedule> schedules = new ArrayList<>();
        for (int i = 0; i < plan.datasets().size(); i++) {
            schedules.add(new BatchSchedule(plan.datasets().get(i), i, seed));
        }
        long step = start.step();
        LossAverage average = LossAverage.of(start.lossWindow());
        double lastLoss = Double.NaN;
        ProgressClock clock = new ProgressClock(step);
        listener.started(step, totalSteps, Math.max(1, start.epoch()), epochs);
        outputs.atStart(step, this);
        for (int epoch = 1; epoch <= epochs; epoch++) {
            List<BatchSchedule.Batch> batches = BatchSchedule.concat(schedules, epoch, seed);
            if (epoch < start.epoch() || (epoch == start.epoch() && start.epochEnded())) {
                continue; // replayed for the shuffle order only
            }
            int first = epoch == start.epoch() ? start.batchesDone() : 0;
            double epochLossSum = 0;
            int epochLossCount = 0;
            int batchIndex = first;
            for (; batchIndex < batches.size() && step < totalSteps; batchIndex++) {
                double microLoss = microStep(batches.get(batchIndex), epoch, batchIndex, step, accumulation, manager);
                if (!Double.isFinite(microLoss)) {
                    throw new IllegalStateException("the loss became " + microLoss + " at step " + (step + 1)
                            + " (epoch " + epoch + "): lower learning_rate or check the model and images");
                }
                lastLoss = microLoss;
                average.add(batchIndex, microLoss);
                epochLossSum += microLoss;
                epochLossCount++;
                boolean sync = (batchIndex + 1) % accumulation == 0 || batchIndex == batches.size() - 1;
                if (!sync) {
                    continue;
                }
                double lr = optimizerStep(step);
                step++;
                method.afterOptimizerStep();
                clock.tick(step);
                listener.step(new TrainingListener.StepReport(step, totalSteps, epoch, epochs, microLoss,
                        average.average(), lr, clock.itPerSec(), clock.etaSeconds(totalSteps - step)));
                TrainingState here = new TrainingState(step, epoch, batchIndex + 1, false, seed, average.window(),
                        start.sessionId(), start.trainingStartedAt());
                outputs.afterStep(step, epoch, here, this);
                TrainingControl.Command command = control.poll();
                if (command == TrainingControl.Command.CANCEL) {
                    outputs.cancelled(step, epoch, here, this);
                    return new Result(Status.CANCELLED, step, lastLoss);
                }
                if (command == TrainingControl.Command.SAVE_NOW) {
                    outputs.saveNow(step, epoch, here, this);
                } else if (command == TrainingControl.Command.SAMPLE_NOW) {
                    outputs.sampleNow(step, epoch, this);
                }
            }
            listener.epoch(epoch, epochs, epochLossCount == 0 ? 0 : epochLossSum / epochLossCount);
            TrainingState end = new TrainingState(step, epoch, batchIndex, true, seed, average.window(),
                    start.sessionId(), start.trainingStartedAt());
            outputs.afterEpoch(step, epoch, epochs, end, this);
            if (step >= totalSteps) {
                break;
            }
        }
        TrainingState last = new TrainingState(step, epochs, 0, true, seed, average.window(), start.sessionId(),
                start.trainingStartedAt());
        outputs.atEnd(step, epochs, last, this);
        return new Result(Status.COMPLETED, step, lastLoss);
    }

    /**
     * Forward only (no gradients) of {@code batch} as the first micro-batch of the run: what a step costs without
     * its backward pass ({@code kiln bench train-step}). Returns the loss.
     */
    public double forwardOnly(BatchSchedule.Batch batch, NDManager manager) {
        JniUtils.setGradMode(false);
        return microStep(batch, 1, 0, 0, 1, manager, false);
    }

    /** One whole optimizer step on {@code batch} (forward, backward, clipping, update); returns the loss. */
    public double stepOnce(BatchSchedule.Batch batch, long step, NDManager manager) {
        JniUtils.setGradMode(false);
        double value = microStep(batch, 1, 0, step, 1, manager, true);
        optimizerStep(step);
        return value;
    }

    /** Forward (and backward, when {@code backward}) of one micro-batch; returns its (unscaled) loss. */
    private double microStep(BatchSchedule.Batch batch, int epoch, int batchIndex, long step, int accumulation,
                             NDManager manager) {
        return microStep(batch, epoch, batchIndex, step, accumulation, manager, true);
    }

    private double microStep(BatchSchedule.Batch batch, int epoch, int batchIndex, long step, int accumulation,
                             NDManager manager, boolean backward) {
        DatasetPlan plan = setup.plan();
        DatasetPlan.Dataset dataset = plan.datasets().get(batch.dataset());
        StableDiffusionModel model = setup.model();
        int channels = model.unetConfig().inChannels();
        int downscale = model.vaeConfig().downscaleFactor();
        float scaling = model.vaeConfig().scalingFactor();
        int size = batch.samples().size();
        int height = batch.bucket().height() / downscale;
        int width = batch.bucket().width() / downscale;
        int plane = channels * height * width;
        long position = (long) epoch << 32 | batchIndex;
        float[] latents = new float[size * plane];
        float[] sampleWeights = new float[size];
        List<String> captions = new ArrayList<>();
        for (int s = 0; s < size; s++) {
            DatasetPlan.Image image = batch.samples().get(s);
            SubsetParams subset = dataset.subsets().get(image.subset());
            SplittableRandom sampleRandom = StepRandom.CROP.at(settings.seed(), position, s);
            boolean flip = subset.flipAug() && sampleRandom.nextDouble() < 0.5;
            float[] one = setup.latents().latents(image, flip);
            if (one.length != plane) {
                throw new IllegalStateException("cached latents of " + image.path() + " hold " + one.length
                        + " values, expected " + channels + "x" + height + "x" + width);
            }
            for (int i = 0; i < plane; i++) {
                latents[s * plane + i] = one[i] * scaling;
            }
            sampleWeights[s] = image.isReg() ? (float) settings.loss().priorLossWeight() : 1f;
            String caption = CaptionProcessor.process(subset, image.caption() == null ? "" : image.caption(),
                    new CaptionProcessor.Progress(epoch, step, plan.totalSteps()),
                    StepRandom.CAPTION.at(settings.seed(), position, s), method.captionReplacements());
            captions.add(caption);
        }
        long[] shape = {size, channels, height, width};
        NoiseDraw draw = NoiseDraw.draw(settings.noise(), shape, latents,
                StepRandom.NOISE.at(settings.seed(), position, 0), StepRandom.TIMESTEPS.at(settings.seed(), position, 0));
        Engine.getInstance().setRandomSeed((int) StepRandom.ENGINE.seedAt(settings.seed(), position, 0));
        Random moduleDropout = new Random(StepRandom.MODULE_DROPOUT.seedAt(settings.seed(), position, 0));
        try (NDScope scope = new NDScope()) {
            Shape latentShape = new Shape(shape);
            NDArray x0 = manager.create(latents, latentShape);
            NDArray noise = manager.create(draw.noise(), latentShape);
            NDArray input = draw.inputNoise() == draw.noise() ? noise : manager.create(draw.inputNoise(), latentShape);
            NDArray noisy = noiseSchedule.addNoise(x0, input, draw.timesteps());
            NDArray target = settings.loss().vParameterization()
                    ? noiseSchedule.velocity(x0, noise, draw.timesteps()) : noise;
            NDArray timesteps = manager.create(draw.timesteps());
            ClipTextModel textEncoder = method.textEncoder(step, moduleDropout);
            UNet2DConditionModel unet = method.unet(moduleDropout);
            java.util.function.Supplier<NDArray> forward = () -> loss.loss(
                    unet.forward(noisy, timesteps, encode(textEncoder, captions, manager)), target, draw.timesteps(),
                    sampleWeights);
            if (!backward) {
                return forward.get().getFloat();
            }
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray value = forward.get();
                double lossValue = value.getFloat();
                collector.backward(ScalarOps.div(value, accumulation));
                return lossValue;
            }
        }
    }

    /** sd-scripts' text conditioning of a batch of processed captions (long prompts and weighted captions included). */
    private NDArray encode(ClipTextModel textEncoder, List<String> captions, NDManager manager) {
        int size = captions.size();
        ClipTokenizer tokenizer = method.tokenizer();
        int maxTokenLength = settings.maxTokenLength();
        if (settings.weightedCaptions()) {
            long[][][] ids = new long[size][][];
            float[][][] weights = new float[size][][];
            for (int s = 0; s < size; s++) {
                TokenChunks.Weighted w = tokenizer.tokenizeWeighted(captions.get(s), maxTokenLength);
                ids[s] = w.ids();
                weights[s] = w.weights();
            }
            Shape shape = new Shape(size, ids[0].length, ids[0][0].length);
            return textEncoder.encodeWeighted(manager.create(flatten(ids), shape),
                    manager.create(flatten(weights), shape), settings.clipSkip());
        }
        long[][][] ids = new long[size][][];
        for (int s = 0; s < size; s++) {
            ids[s] = tokenizer.tokenize(captions.get(s), maxTokenLength);
        }
        int chunks = ids[0].length;
        int length = ids[0][0].length;
        Shape shape = chunks == 1 ? new Shape(size, length) : new Shape(size, chunks, length);
        return textEncoder.encode(manager.create(flatten(ids), shape), settings.clipSkip());
    }

    private static long[] flatten(long[][][] values) {
        return java.util.Arrays.stream(values).flatMap(java.util.Arrays::stream)
                .flatMapToLong(java.util.Arrays::stream).toArray();
    }

    private static float[] flatten(float[][][] values) {
        int n = 0;
        for (float[][] a : values) {
            for (float[] b : a) {
                n += b.length;
            }
        }
        float[] out = new float[n];
        int i = 0;
        for (float[][] a : values) {
            for (float[] b : a) {
                System.arraycopy(b, 0, out, i, b.length);
                i += b.length;
            }
        }
        return out;
    }

    /** Clip, step the optimizer at the scheduled learning rates, zero the gradients; returns the first group's lr. */
    private double optimizerStep(long step) {
        try (NDScope scope = new NDScope()) {
            Map<String, NDArray> withGradients = method.gradientTensors(step);
            Map<String, NDArray> grads = new LinkedHashMap<>();
            withGradients.forEach((name, p) -> grads.put(name, p.getGradient()));
            GradientClipping.clipGlobalNorm(grads.values(), settings.maxGradNorm());
            List<ParamGroup> groups = new ArrayList<>();
            for (ParamGroup g : method.parameterGroups(step)) {
                groups.add(g.withLr(lrSchedule.lr(g.lr(), step)));
            }
            optimizer.step(groups, grads);
            for (NDArray p : withGradients.values()) {
                JniUtils.zeroGrad((PtNDArray) p);
            }
            return groups.isEmpty() ? 0 : groups.get(0).lr();
        }
    }

    /** Steps per second since the run (re)started, and the time left at that rate. */
    private static final class ProgressClock {
        private final long startStep;
        private final long startNanos = System.nanoTime();
        private long step;

        ProgressClock(long startStep) {
            this.startStep = startStep;
            this.step = startStep;
        }

        void tick(long now) {
            step = now;
        }

        double itPerSec() {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            return seconds <= 0 ? 0 : (step - startStep) / seconds;
        }

        double etaSeconds(long remaining) {
            double rate = itPerSec();
            return rate <= 0 ? 0 : remaining / rate;
        }
    }
}
