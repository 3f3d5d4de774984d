package dev.kiln.ingestion.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.ingestion.index.DatasetIndex;
import dev.kiln.ingestion.index.ObjectRecord;
import dev.kiln.ingestion.pipeline.OutgoingEvent;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetBlueprint;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.DatasetPlanner;
import dev.kiln.model.dataset.PlanJson;
import dev.kiln.model.dataset.SubsetParams;
import dev.kiln.model.events.JobPlanned;
import dev.kiln.model.events.JobSubmitted;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.Stage;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.service.storage.ObjectInfo;
import dev.kiln.service.storage.S3Storage;
import dev.kiln.service.storage.StorageException;
import org.jboss.logging.Logger;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Jobs, from {@code jobs/<job>/job.toml} to a plan: parses the file with the shared-model job spec (invalid:
 * a {@code failed} progress event naming the key and the problem), publishes {@code kiln.jobs.submitted} and a
 * {@code submitted} progress event, then waits until every object under the job's dataset folders has an outcome
 * in the {@link DatasetIndex} (and a caption where {@link JobCaptioning#captioningOn} says so), plans it with the
 * dataset engine, writes {@code outputs/<job>/plan.json} and publishes {@code kiln.jobs.planned} and a
 * {@code planned} progress event. A job still waiting after the planning timeout fails, naming what is missing.
 *
 * <p>State per job in {@code state/jobs/<job>.json}. Thread-safe.
 */
public final class JobTracker {
    private static final Logger LOG = Logger.getLogger(JobTracker.class);
    public static final String PREFIX = "state/jobs/";
    private static final int LISTED_PENDING = 5;

    private final S3Storage storage;
    private final DatasetIndex index;
    private final Duration planTimeout;
    private final int maxSpecBytes;
    private final Clock clock;
    private final Map<String, JobState> jobs = new TreeMap<>();
    private final Map<String, JobSpec> specs = new HashMap<>();
    private final Set<String> dirty = new LinkedHashSet<>();
    private boolean loaded;

    /** A planning step's result: events to publish, then {@link #saveDirty()}. */
    public record Planned(List<OutgoingEvent> events) {
    }

    public JobTracker(S3Storage storage, DatasetIndex index, Duration planTimeout, int maxSpecBytes, Clock clock) {
        this.storage = storage;
        this.index = index;
        this.planTimeout = planTimeout;
        this.maxSpecBytes = maxSpecBytes;
        this.clock = clock;
    }

    /** The key of a job's state object. */
    public static String stateKey(String jobId) {
        return PREFIX + jobId + ".json";
    }

    /** Loads every job's state (on start-up, before the first batch). */
    public synchronized void load() {
        if (loaded) {
            return;
        }
        for (ObjectInfo info : storage.list(PREFIX, false)) {
            try (InputStream in = storage.get(info.key())) {
                JobState state = Json.read(in.readAllBytes(), JobState.class);
                jobs.put(state.jobId(), state);
            } catch (IOException | IllegalArgumentException e) {
                LOG.warnf("job state %s unreadable, ignored: %s", info.key(), e.getMessage());
            }
        }
        loaded = true;
        long waiting = jobs.values().stream().filter(j -> j.status() == JobState.Status.WAITING).count();
        LOG.infof("job states loaded: %d job(s), %d waiting for their datasets", jobs.size(), waiting);
    }

    /** A job.toml was created or overwritten: the events of its submission (or of its failure). */
    public synchronized List<OutgoingEvent> submitted(String specKey, String jobId, String eTag, String stamp) {
        load();
        JobState existing = jobs.get(jobId);
        if (existing != null && eTag != null && eTag.equals(existing.eTag())) {
            return stamp.equals(existing.stamp()) ? existing.emitted() : List.of();
        }
        Instant now = clock.instant();
        String toml;
        try {
            toml = read(specKey);
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return List.of(); // deleted before it was read: its removal event follows
            }
            throw e;
        } catch (IllegalArgumentException e) {
            return fail(new JobState(jobId, specKey, eTag, stamp, JobState.Status.FAILED, null, now, null, null),
                    Stage.INGESTION, specKey + ": " + e.getMessage());
        }
        JobState state = new JobState(jobId, specKey, eTag, stamp, JobState.Status.WAITING, toml, now, null, null);
        JobSpec spec;
        try {
            spec = JobSpecParser.parse(toml, specKey, jobId);
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(state, Stage.INGESTION, specKey + ": " + e.getMessage());
        }
        ObjectNode specJson = (ObjectNode) Json.tree(spec.toJson());
        List<OutgoingEvent> events = List.of(
                OutgoingEvent.of(new JobSubmitted(jobId, specKey, specJson), jobId, jobId),
                OutgoingEvent.of(TrainingProgress.of(jobId, ProgressType.SUBMITTED, Stage.INGESTION, now), jobId, jobId));
        put(new JobState(jobId, specKey, eTag, stamp, JobState.Status.WAITING, toml, now, null, events));
        specs.put(jobId, spec);
        LOG.infof("job %s submitted from %s; planned when its datasets are ingested", jobId, specKey);
        return events;
    }

    /** A job.toml was deleted: a job still waiting stops waiting (nothing is published). */
    public synchronized List<OutgoingEvent> removed(String jobId) {
        load();
        JobState state = jobs.get(jobId);
        if (state != null && state.status() == JobState.Status.WAITING) {
            put(state.with(JobState.Status.FAILED, "job.toml deleted before planning"));
            LOG.infof("job %s: job.toml deleted while waiting for its datasets; not planned", jobId);
        }
        return List.of();
    }

    /** Plans every waiting job whose datasets are complete, and fails those past the timeout. */
    public synchronized Planned planReady() {
        load();
        List<OutgoingEvent> events = new ArrayList<>();
        for (JobState state : List.copyOf(jobs.values())) {
            if (state.status() == JobState.Status.WAITING) {
                events.addAll(planIfReady(state));
            }
        }
        return new Planned(events);
    }

    /** The state of a job, or null. */
    public synchronized JobState state(String jobId) {
        return jobs.get(jobId);
    }

    /** Forgets changes not saved yet (their events could not be published): they are made again. */
    public synchronized void revertUnsaved() {
        for (String jobId : dirty) {
            try (InputStream in = storage.get(stateKey(jobId))) {
                jobs.put(jobId, Json.read(in.readAllBytes(), JobState.class));
            } catch (StorageException e) {
                if (!e.isNotFound()) {
                    throw e;
                }
                jobs.remove(jobId);
            } catch (IOException e) {
                throw new UncheckedIOException(stateKey(jobId) + ": " + e.getMessage(), e);
            }
        }
        dirty.clear();
    }

    /** Writes every changed job state. */
    public void saveDirty() {
        List<JobState> changed;
        synchronized (this) {
            changed = dirty.stream().map(jobs::get).toList();
            dirty.clear();
        }
        try {
            for (JobState state : changed) {
                byte[] json = Json.write(state).getBytes(StandardCharsets.UTF_8);
                storage.put(stateKey(state.jobId()), new ByteArrayInputStream(json), json.length, "application/json");
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                changed.forEach(s -> dirty.add(s.jobId()));
            }
            throw e;
        }
    }

    private List<OutgoingEvent> planIfReady(JobState state) {
        String jobId = state.jobId();
        JobSpec spec = specs.computeIfAbsent(jobId, j -> JobSpecParser.parse(state.toml(), state.specKey(), j));
        List<String> folders;
        try {
            folders = datasetFolders(spec);
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(state, Stage.PLANNING, state.specKey() + ": " + e.getMessage());
        }
        List<String> pending = pending(folders, JobCaptioning.captioningOn(spec));
        if (!pending.isEmpty()) {
            Duration waited = Duration.between(state.submittedAt(), clock.instant());
            if (waited.compareTo(planTimeout) < 0) {
                return List.of();
            }
            return fail(state, Stage.PLANNING, "job " + jobId + " (" + state.specKey() + "): its dataset was not"
                    + " fully ingested within " + planTimeout + ": " + pending.size() + " object(s) under "
                    + folders + " without an outcome" + (JobCaptioning.captioningOn(spec) ? " or a caption" : "")
                    + ", e.g. " + pending.subList(0, Math.min(LISTED_PENDING, pending.size())));
        }
        DatasetPlan plan;
        try {
            plan = DatasetPlanner.plan(spec.dataset(), new IndexDatasetSource(index, storage), spec.trainingLength());
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(state, Stage.PLANNING, state.specKey() + ": " + e.getMessage());
        }
        String planKey = ObjectKeys.plan(jobId);
        byte[] json = PlanJson.write(plan).getBytes(StandardCharsets.UTF_8);
        storage.put(planKey, new ByteArrayInputStream(json), json.length, "application/json");
        int images = plan.datasets().stream().mapToInt(d -> d.images().size()).sum();
        int buckets = plan.datasets().stream().mapToInt(d -> d.buckets().size()).sum();
        Instant now = clock.instant();
        TrainingProgress progress = new TrainingProgress(jobId, ProgressType.PLANNED, Stage.PLANNING, null,
                plan.totalSteps(), null, Math.toIntExact(plan.epochs()), null, null, null, null, null, null,
                images + " image(s) in " + buckets + " bucket(s), " + plan.totalSteps() + " steps; plan: "
                        + planKey, now);
        put(state.with(JobState.Status.PLANNED, null));
        LOG.infof("job %s planned: %s (%d images, %d buckets, %d steps)", jobId, planKey, images, buckets,
                plan.totalSteps());
        return List.of(OutgoingEvent.of(new JobPlanned(jobId, planKey, images, buckets, plan.totalSteps()), jobId, jobId),
                OutgoingEvent.of(progress, jobId, jobId));
    }

    /** The folders whose objects the job's datasets read: subset image_dirs, or the legacy train/reg dirs. */
    private static List<String> datasetFolders(JobSpec spec) {
        Set<String> folders = new LinkedHashSet<>();
        if (spec.dataset().isLegacy()) {
            for (String arg : List.of("train_data_dir", "reg_data_dir", "in_json")) {
                Object value = spec.arguments().get(arg);
                if (value instanceof String dir) {
                    folders.add(arg.equals("in_json") ? dir : folder(dir, arg));
                }
            }
        } else {
            for (DatasetBlueprint dataset : spec.dataset().explicitDatasets()) {
                for (SubsetParams subset : dataset.subsets()) {
                    if (subset.imageDir() != null) {
                        folders.add(folder(subset.imageDir(), "image_dir"));
                    }
                }
            }
        }
        return List.copyOf(folders);
    }

    private static String folder(String dir, String key) {
        String folder = dir.endsWith("/") ? dir : dir + "/";
        if (!folder.startsWith(ObjectKeys.DATASETS) || DatasetIndex.datasetOf(folder + "x") == null) {
            throw new ConfigException("", key, "'" + dir + "' is not under datasets/<dataset>/: ingestion indexes"
                    + " only objects there");
        }
        return folder;
    }

    /**
     * Objects under the folders that have no outcome for their current version yet (or no caption); while no image
     * at all is accepted there, the folders themselves (an upload that has not started counts as not ingested).
     */
    private List<String> pending(List<String> folders, boolean captioning) {
        List<String> pending = new ArrayList<>();
        boolean anyImage = false;
        for (String folder : folders) {
            if (!folder.endsWith("/")) { // a metadata file
                anyImage = true;
                continue;
            }
            for (ObjectInfo object : storage.list(folder, true)) {
                ObjectRecord record = index.get(object.key());
                if (record == null || !object.eTag().equals(record.eTag())) {
                    pending.add(object.key());
                } else if (record.isAccepted()) {
                    anyImage = true;
                    if (captioning && record.captionSource() == null) {
                        pending.add(object.key() + " (no caption yet)");
                    }
                }
            }
        }
        if (!anyImage && pending.isEmpty()) {
            pending.addAll(folders.stream().map(f -> f + " (no accepted image yet)").toList());
        }
        return pending;
    }

    private List<OutgoingEvent> fail(JobState state, Stage stage, String message) {
        TrainingProgress failed = TrainingProgress.failed(state.jobId(), stage, message, clock.instant());
        List<OutgoingEvent> events = List.of(OutgoingEvent.of(failed, state.jobId(), state.jobId()));
        put(new JobState(state.jobId(), state.specKey(), state.eTag(), state.stamp(), JobState.Status.FAILED,
                state.toml(), state.submittedAt(), message,
                stage == Stage.INGESTION ? events : state.emitted()));
        LOG.infof("job %s failed: %s", state.jobId(), message);
        return events;
    }

    private void put(JobState state) {
        jobs.put(state.jobId(), state);
        dirty.add(state.jobId());
    }

    /** The job.toml as text; over the size limit or not UTF-8 is an IllegalArgumentException. */
    private String read(String key) {
        byte[] bytes;
        try (InputStream in = storage.get(key)) {
            bytes = in.readNBytes(maxSpecBytes + 1);
        } catch (IOException e) {
            throw new UncheckedIOException(key + ": " + e.getMessage(), e);
        }
        if (bytes.length > maxSpecBytes) {
            throw new IllegalArgumentException("job.toml is over " + maxSpecBytes + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("job.toml is not valid UTF-8");
        }
    }
}
