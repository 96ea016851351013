"""The command that deletes bundle versions to free bundle storage."""

import logging

from pdtrain_core import command, formatting, refs
from pdtrain_core.exceptions import PdtrainError, UsageError

LOG = logging.getLogger(__name__)


def _label(bundle) -> str:
    return f"{bundle.get('name')}:{bundle.get('version')} ({bundle['id']})"


def _total_size(bundles) -> int:
    return sum(int(bundle.get("size_bytes") or 0) for bundle in bundles)


class DeleteBundle(command.Command):
    """Delete bundle versions and their archives, freeing bundle quota.

    NAME:N, NAME:latest or an id deletes one version; NAME with
    --all-versions deletes every version of that name. A version that a
    run uses until the run ends is not deleted. Runs that used a deleted
    version still show it, and its version number is not given to a
    later upload. Asks for confirmation on a terminal; elsewhere pass
    --yes.
    """

    examples = (
        "pdtrain bundle delete mnist:2",
        "pdtrain bundle delete mnist --all-versions --yes",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "references",
            metavar="<bundle>",
            nargs="+",
            help="name:N, name:latest or id of a version, or a bundle "
            "name with --all-versions",
        )
        parser.add_argument(
            "--all-versions",
            action="store_true",
            help="delete every version of each named bundle",
        )
        parser.add_argument(
            "--yes", action="store_true", help="delete without asking"
        )
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.yes:
            self.check_can_confirm("Deleting bundles")
        if not self.client.has("bundle_delete"):
            raise PdtrainError(
                "This server cannot delete bundles (it does not offer the "
                "bundle_delete capability); ask its operator to remove them"
            )
        targets = self._resolve_all(parsed_args)

        deleted, errors = [], []
        for text, bundles in targets:
            if not parsed_args.yes and not self._confirm(text, bundles):
                self.notice(f"Kept bundle {text}")
                continue
            for bundle in bundles:
                try:
                    deleted.append(self._delete_one(bundle))
                except PdtrainError as error:
                    errors.append((_label(bundle), error))
        return self._finish(deleted, errors)

    def _resolve_all(self, parsed_args):
        """Return [(reference, bundles)], or raise having deleted nothing."""
        targets, errors, seen = [], [], set()
        for text in parsed_args.references:
            try:
                bundles = self._resolve(text, parsed_args.all_versions)
            except PdtrainError as error:
                errors.append((text, error))
                continue
            # A version named twice (by name:N and by id) is deleted once.
            bundles = [b for b in bundles if b["id"] not in seen]
            seen.update(bundle["id"] for bundle in bundles)
            if bundles:
                targets.append((text, bundles))
        if len(errors) == 1 and len(parsed_args.references) == 1:
            # One line, with exit status 1 as for any failed delete.
            error = errors[0][1]
            raise PdtrainError(str(error)) from error
        for text, error in errors:
            LOG.error("Cannot delete bundle %s: %s", text, error)
        if errors:
            raise PdtrainError(
                f"{len(errors)} of {len(parsed_args.references)} bundle "
                "references could not be resolved, so nothing was deleted; "
                "fix or drop those references"
            )
        return targets

    def _resolve(self, text, all_versions):
        """Return the bundle versions that one reference names."""
        ref = refs.parse(text)
        bundle = refs.resolve_bundle(self.client, text)
        # "name:N" and "name:latest" name one version, and so does an id.
        whole_name = ref.may_be_id and bundle["id"] != ref.text
        if not whole_name:
            if all_versions:
                raise UsageError(
                    f"{text!r} names one version but --all-versions "
                    "deletes them all; drop one of the two"
                )
            return [bundle]

        versions = self.client.list_bundles(name=bundle["name"])
        versions.sort(key=lambda item: int(item.get("version") or 0))
        if not all_versions:
            numbers = ", ".join(str(item.get("version")) for item in versions)
            raise UsageError(
                f"{text!r} names a whole bundle (versions {numbers}): name "
                f"one version ({text}:N) or pass --all-versions to delete "
                "every version"
            )
        return versions

    def _confirm(self, text, bundles) -> bool:
        size = formatting.human_size(_total_size(bundles))
        if len(bundles) == 1:
            question = f"Delete bundle {_label(bundles[0])}, {size}?"
        else:
            question = (
                f"Delete all {len(bundles)} versions of bundle {text}, "
                f"{size}?"
            )
        return self.confirm(question)

    def _delete_one(self, bundle) -> dict:
        """Delete one version and return what the server deleted."""
        answer = self.client.delete_bundle(bundle["id"])
        # A server may send an empty body, so the resolved bundle fills
        # in the fields the response lacks.
        deleted = answer if isinstance(answer, dict) else {}
        deleted = {**bundle, **deleted}
        size = formatting.human_size(int(deleted.get("size_bytes") or 0))
        self.notice(f"Deleted bundle {_label(deleted)}, {size}")
        return deleted

    def _finish(self, deleted, errors):
        if deleted:
            freed = formatting.human_size(_total_size(deleted))
            self.notice(f"Freed {freed} of bundle storage")
        if not errors:
            return 0
        if len(errors) == 1 and not deleted:
            # One line, as when the only reference cannot be resolved.
            error = errors[0][1]
            raise PdtrainError(str(error)) from error
        for label, error in errors:
            LOG.error("Cannot delete bundle %s: %s", label, error)
        total = len(deleted) + len(errors)
        raise PdtrainError(
            f"{len(errors)} of {total} bundle versions were not deleted"
        )
