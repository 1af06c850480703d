"""Lesson content blocks: the shared blocks plus video, documents, checklists and quiz
questions. Questions carry their answers; only the server ever reads them (see grading)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock

from cms.blocks import BaseStreamBlock


class VideoBlock(blocks.StructBlock):
    """A video: an embed (URL) or an uploaded file, with captions for the hard of hearing
    and for noisy streets."""

    embed = EmbedBlock(required=False, label=_("Video link"))
    file = DocumentChooserBlock(required=False, label=_("Uploaded video file (MP4)"))
    captions = DocumentChooserBlock(required=False, label=_("Captions (WebVTT)"))
    duration_seconds = blocks.IntegerBlock(
        min_value=1, required=False, label=_("Length in seconds")
    )
    transcript = blocks.RichTextBlock(
        required=False, features=["bold", "italic", "ol", "ul"], label=_("Transcript")
    )

    class Meta:
        icon = "media"
        label = _("Video")
        template = "courses/blocks/video.html"

    def clean(self, value):
        value = super().clean(value)
        if bool(value.get("embed")) == bool(value.get("file")):
            raise StructBlockValidationError(
                block_errors={
                    "embed": ValidationError(_("Give a video link or a file, not both.")),
                }
            )
        return value


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("Document"))
    description = blocks.CharBlock(required=False, max_length=200, label=_("Description"))

    class Meta:
        icon = "doc-full"
        label = _("Download")
        template = "courses/blocks/document.html"


class ChecklistBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=120, label=_("Title"))
    steps = blocks.ListBlock(blocks.CharBlock(max_length=300, label=_("Step")), label=_("Steps"))

    class Meta:
        icon = "list-ol"
        label = _("Step-by-step checklist")
        template = "courses/blocks/checklist.html"


class ChoiceBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=300, label=_("Answer"))
    correct = blocks.BooleanBlock(required=False, label=_("Correct"))

    class Meta:
        icon = "tick"
        label = _("Answer")


class _QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock(max_length=500, label=_("Question"))
    points = blocks.IntegerBlock(min_value=1, max_value=100, default=1, label=_("Points"))
    explanation = blocks.RichTextBlock(
        features=["bold", "italic", "link"],
        required=False,
        label=_("Explanation"),
        help_text=_("Shown after the driver answers."),
    )

    class Meta:
        icon = "help"
        template = "courses/blocks/question.html"


class SingleChoiceQuestionBlock(_QuestionBlock):
    choices = blocks.ListBlock(ChoiceBlock(), min_num=2, max_num=8, label=_("Answers"))

    class Meta:
        label = _("Question: one answer")

    def clean(self, value):
        value = super().clean(value)
        if sum(1 for choice in value["choices"] if choice["correct"]) != 1:
            raise StructBlockValidationError(
                block_errors={"choices": ValidationError(_("Mark exactly one answer correct."))}
            )
        return value


class MultipleChoiceQuestionBlock(_QuestionBlock):
    choices = blocks.ListBlock(ChoiceBlock(), min_num=2, max_num=8, label=_("Answers"))

    class Meta:
        label = _("Question: several answers")

    def clean(self, value):
        value = super().clean(value)
        if not any(choice["correct"] for choice in value["choices"]):
            raise StructBlockValidationError(
                block_errors={"choices": ValidationError(_("Mark at least one answer correct."))}
            )
        return value


class TrueFalseQuestionBlock(_QuestionBlock):
    answer = blocks.BooleanBlock(required=False, label=_("The statement is true"))

    class Meta:
        label = _("Question: true or false")


QUESTION_TYPES = ("single_choice", "multiple_choice", "true_false")


class LessonStreamBlock(BaseStreamBlock):
    video = VideoBlock()
    document = DocumentBlock()
    checklist = ChecklistBlock()
    single_choice = SingleChoiceQuestionBlock()
    multiple_choice = MultipleChoiceQuestionBlock()
    true_false = TrueFalseQuestionBlock()
