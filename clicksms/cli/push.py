"""``clicksms push wap`` and ``push mms``: a WAP service indication or an MMS notification to
one or more numbers, with ``send``'s recipients, options, results and exit codes."""

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import CountryOption, OutputOption, QuietOption
from clicksms.cli.render import OutputFormat, note
from clicksms.cli.send import (
    CallbackOption,
    DeliverAtOption,
    DeliverInOption,
    DeliveryAckOption,
    EscalateOption,
    MaxCreditsOption,
    MoOption,
    QueueOption,
    SenderOption,
    Unicode,
    UnicodeOption,
    ValidityOption,
    message_text,
    note_duplicates,
    send_options,
    show_send,
)
from clicksms.errors import UsageError

if TYPE_CHECKING:
    from clicksms.message.options import SendOptions

app = typer.Typer(
    name="push",
    help="Push a WAP link (si_push) or an MMS notification (ind_push) to handsets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Action(str, Enum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    delete = "delete"


class MmsClass(str, Enum):
    personal = "personal"
    advertisement = "advertisement"
    informational = "informational"
    auto = "auto"


NumbersArgument = Annotated[
    list[str],
    typer.Argument(
        metavar="NUMBER",
        help="Recipients: +27821234567, 0027…, 27821234567, or national with --country.",
        show_default=False,
    ),
]
UrlOption = Annotated[
    str,
    typer.Option(
        "--url", metavar="URL", help="The http(s) address the handset opens.", show_default=False
    ),
]
ClientIdOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--client-id", metavar="ID", help="Your ID for this push (≤32 letters/digits)."),
]


@app.command("wap")
def wap(
    ctx: typer.Context,
    to: NumbersArgument,
    url: UrlOption,
    text: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--text", "-t", help="What the handset shows; '-' or omitted with a pipe reads stdin."
        ),
    ] = None,
    si_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--si-id",
            metavar="ID",
            help="The indication's ID; a later push with the same ID replaces it (or, with "
            "--action delete, withdraws it).  [default: a random one]",
            show_default=False,
        ),
    ] = None,
    created: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--created", metavar="TIME", help="When the content was made (as --deliver-at)."
        ),
    ] = None,
    expires: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--expires", metavar="TIME", help="When the handset drops it (as --deliver-at)."
        ),
    ] = None,
    action: Annotated[
        Optional[Action],  # noqa: UP045
        typer.Option(
            "--action",
            case_sensitive=False,
            help="How the handset signals it (signal-*), or delete.  [default: medium]",
            show_default=False,
        ),
    ] = None,
    unicode: UnicodeOption = Unicode.auto,
    sender: SenderOption = None,
    country: CountryOption = None,
    deliver_in: DeliverInOption = None,
    deliver_at: DeliverAtOption = None,
    validity: ValidityOption = None,
    client_id: ClientIdOption = None,
    callback: CallbackOption = None,
    delivery_ack: DeliveryAckOption = False,
    max_credits: MaxCreditsOption = None,
    queue: QueueOption = None,
    escalate: EscalateOption = False,
    mo: MoOption = False,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Push a URL with a text: a WAP service indication (si_push).

    One result row per recipient, as send prints them. Text that is not GSM goes as
    UCS-2 over Document/Literal only: RPC/Encoded's si_push has no unicode field.

    \b
        clicksms push wap 27821234567 --url https://example.com/app --text "Update ready"
        clicksms push wap 27821234567 --url https://example.com/sale -t Sale --expires 18:00
        clicksms push wap 27821234567 --url https://ex.am/s -t Over --si-id sale1 --action delete
    """
    from clicksms.message.push import (
        SI_ACTIONS,
        WapPush,
        check_si_dates,
        check_url,
        new_si_id,
        wap_fields,
    )
    from clicksms.message.text import prepare

    invocation: Invocation = ctx.obj
    invocation.check_settings()  # --sandbox: started only once the input is known to be good
    soap_style = invocation.soap_style()
    link = check_url(url)
    content = prepare(message_text(text), unicode.value)
    made, ends = check_si_dates(created, expires)
    if si_id is not None and not si_id.strip():
        raise UsageError("--si-id is empty: give an ID, or leave it out for a random one")
    push = WapPush(
        url=link,
        text=content,
        si_id=si_id.strip() if si_id is not None else new_si_id(),
        created=made,
        expires=ends,
        action=None if action is None else SI_ACTIONS[action.value],
    )
    options = send_options(
        soap_style, deliver_in=deliver_in, deliver_at=deliver_at, validity=validity,
        client_id=client_id, callback=callback, delivery_ack=delivery_ack,
        max_credits=max_credits, queue=queue, escalate=escalate, mo=mo,
    )  # fmt: skip
    fields = wap_fields(push, invocation.sender(sender), options, soap_style)
    generated = None
    if si_id is None:
        generated = (
            f"WAP push ID {push.si_id}: push again with --si-id {push.si_id} to replace it, "
            "or with --action delete too to withdraw it."
        )
    _push(invocation, "si_push", to, country, fields, options, output, generated)


@app.command("mms")
def mms(
    ctx: typer.Context,
    to: NumbersArgument,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            metavar="URL",
            help="The http(s) address of the MMS to fetch.",
            show_default=False,
        ),
    ],
    subject: Annotated[
        str,
        typer.Option(
            "--subject",
            metavar="TEXT",
            help="The MMS subject the handset shows.",
            show_default=False,
        ),
    ],
    mms_class: Annotated[
        MmsClass,
        typer.Option("--class", case_sensitive=False, help="The MMS class (80 to 83)."),
    ] = MmsClass.personal,
    expire: Annotated[
        str,
        typer.Option(
            "--expire",
            metavar="DURATION",
            help="How long the MMS waits to be fetched: 3600 (seconds), 90m, 12h, 7d.",
        ),
    ] = "7d",
    mms_from: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--mms-from",
            metavar="TEXT",
            help="Who the notification says it is from.  [default: --from, else the URL's host]",
            show_default=False,
        ),
    ] = None,
    sender: SenderOption = None,
    country: CountryOption = None,
    deliver_in: DeliverInOption = None,
    deliver_at: DeliverAtOption = None,
    validity: ValidityOption = None,
    client_id: ClientIdOption = None,
    callback: CallbackOption = None,
    delivery_ack: DeliveryAckOption = False,
    max_credits: MaxCreditsOption = None,
    queue: QueueOption = None,
    escalate: EscalateOption = False,
    mo: MoOption = False,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Notify handsets of an MMS to fetch from a URL (ind_push).

    One result row per recipient, as send prints them.

    \b
        clicksms push mms 27821234567 --url https://mms.example.com/m/42 --subject "Your photo"
        clicksms push mms 27821234567 --url https://mms.example.com/m/7 --subject Sale \\
            --from ACME --class advertisement --expire 2d
    """
    from urllib.parse import urlsplit

    from clicksms.message.push import MMS_CLASSES, MmsPush, check_url, mms_expiry, mms_fields

    invocation: Invocation = ctx.obj
    invocation.check_settings()  # --sandbox: started only once the input is known to be good
    link = check_url(url)
    seconds = mms_expiry(expire)
    sender_id = invocation.sender(sender)
    shown_from = mms_from if mms_from is not None else sender_id or urlsplit(link).hostname
    push = MmsPush(
        url=link,
        subject=_plain_text(subject, "--subject"),
        mms_class=MMS_CLASSES[mms_class.value],
        expire=seconds,
        shown_from=_plain_text(shown_from or "", "--mms-from"),
    )
    options = send_options(
        invocation.soap_style(), deliver_in=deliver_in, deliver_at=deliver_at,
        validity=validity, client_id=client_id, callback=callback, delivery_ack=delivery_ack,
        max_credits=max_credits, queue=queue, escalate=escalate, mo=mo,
    )  # fmt: skip
    _push(
        invocation, "ind_push", to, country, mms_fields(push, sender_id, options), options, output
    )


def _push(
    invocation: Invocation,
    operation: str,
    to: list[str],
    country: Optional[str],  # noqa: UP045
    fields: dict[str, Any],
    options: "SendOptions",
    output: OutputFormat,
    announce: Optional[str] = None,  # noqa: UP045
) -> None:
    """Check the recipients as send does, push to the valid ones, show send's results;
    ``announce`` is said once every check has passed."""
    from clicksms.message.options import check_one_recipient
    from clicksms.send import SendReport, deliver, split_recipients

    recipients = split_recipients(to, invocation.country(country))
    if not recipients.checks:
        raise UsageError("no recipients: give at least one phone number")
    check_one_recipient(options.client_id, len(recipients.valid))
    note_duplicates(recipients)
    if announce and recipients.valid:
        note(announce)
    sent = SendReport(())
    if recipients.valid:
        gateway = invocation.gateway()
        sent = deliver(gateway, operation, recipients.valid, fields, options.client_id)
    show_send(SendReport(recipients.results(sent.results), sent.failure), output)


def _plain_text(value: str, option: str) -> str:
    """A push's own text (subject, shown sender): not empty, nothing SOAP's XML cannot carry."""
    from clicksms.message.text import prepare

    if not value.strip():
        raise UsageError(f"{option} is empty: give the text to show")
    try:
        prepare(value)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from None
    return value.strip()
