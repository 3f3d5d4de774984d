package dev.kiln.model.events;

import dev.kiln.model.notify.S3EventNotification;
import dev.kiln.model.topics.TopicSpec;
import dev.kiln.model.topics.Topics;
import java.util.Arrays;
import java.util.Optional;

/**
 * Every event of ARCHITECTURE §3: its body class, topic, CloudEvent type and JSON Schema.
 * The schema of topic {@code kiln.x.y} is the class-path resource {@code schemas/x.y.schema.json}.
 */
public enum EventType {
    STORAGE_EVENT(S3EventNotification.class, Topics.STORAGE_EVENTS),
    IMAGE_ACCEPTED(ImageAccepted.class, Topics.IMAGES_ACCEPTED),
    IMAGE_REJECTED(ImageRejected.class, Topics.IMAGES_REJECTED),
    IMAGE_CAPTIONED(ImageCaptioned.class, Topics.IMAGES_CAPTIONED),
    JOB_SUBMITTED(JobSubmitted.class, Topics.JOBS_SUBMITTED),
    JOB_PLANNED(JobPlanned.class, Topics.JOBS_PLANNED),
    LATENT_TASK(LatentTask.class, Topics.LATENTS_TASKS),
    LATENTS_CACHED(LatentsCached.class, Topics.LATENTS_CACHED),
    TRAINING_CONTROL(TrainingControl.class, Topics.TRAINING_CONTROL),
    SAMPLES_REQUESTED(SamplesRequested.class, Topics.SAMPLES_REQUESTED),
    TRAINING_PROGRESS(TrainingProgress.class, Topics.TRAINING_PROGRESS);

    private final Class<?> bodyClass;
    private final TopicSpec topic;

    EventType(Class<?> bodyClass, String topic) {
        this.bodyClass = bodyClass;
        this.topic = Topics.byName(topic).orElseThrow();
    }

    /** The Java record of the event body. */
    public Class<?> bodyClass() {
        return bodyClass;
    }

    /** The topic name. */
    public String topic() {
        return topic.name();
    }

    /** The topic with its recommended settings. */
    public TopicSpec topicSpec() {
        return topic;
    }

    /** The {@code ce_type}, e.g. {@code kiln.images.accepted.v1}. */
    public String ceType() {
        return topic.ceType();
    }

    /** Class-path location of the body's JSON Schema, e.g. {@code schemas/images.accepted.schema.json}. */
    public String schemaResource() {
        return "schemas/" + topic.name().substring("kiln.".length()) + ".schema.json";
    }

    /** The event type of a body class. */
    public static EventType of(Class<?> bodyClass) {
        return Arrays.stream(values()).filter(t -> t.bodyClass == bodyClass).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(bodyClass.getName() + " is not a Kiln event body"));
    }

    /** The event type for a topic name or a {@code ce_type}. */
    public static Optional<EventType> find(String topicOrCeType) {
        return Arrays.stream(values())
                .filter(t -> t.topic().equals(topicOrCeType) || t.ceType().equals(topicOrCeType))
                .findFirst();
    }

    /** As {@link #find(String)}, but an unknown name is an error listing the known topics. */
    public static EventType require(String topicOrCeType) {
        return find(topicOrCeType).orElseThrow(() -> new IllegalArgumentException(
                "unknown topic or ce_type '" + topicOrCeType + "'; known topics: " + Topics.ALL));
    }
}
