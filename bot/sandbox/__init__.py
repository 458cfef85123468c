"""A local Telegram Bot API emulator with a control API (the "sandbox").

PTB talks to it over real HTTP exactly as to Telegram; people are played through the
control API (see :mod:`bot.sandbox.control_api`). Start it in process with
:class:`SandboxServer` and drive it with :class:`SandboxClient`.

Emulated Bot API methods: getMe, getUpdates, setWebhook, deleteWebhook,
getWebhookInfo, sendMessage, sendPhoto, sendDocument, editMessageText,
editMessageCaption, editMessageReplyMarkup, deleteMessage, deleteMessages,
forwardMessage, copyMessage, sendChatAction, getChat, getFile (files are served
under ``/file/bot<token>/``), answerCallbackQuery, setMyCommands, getMyCommands,
deleteMyCommands, set/getMyName, set/getMyDescription, set/getMyShortDescription,
set/getChatMenuButton, close and logOut. Any other method answers 404 "Not Found".

Where it knowingly differs from Telegram:

- only the HTML parse mode is emulated (Markdown modes answer "unsupported parse_mode");
- an ``&`` that does not start an HTML entity is refused instead of shown literally;
- photos and documents given by URL are not fetched (they become empty placeholders);
- webhooks may use plain HTTP on loopback hosts, and updates are only ever posted to
  loopback addresses;
- chats, users and entity auto-detection are reduced to what a private bot needs
  (a leading ``/command`` in a user's text gets its ``bot_command`` entity).
"""

from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState

__all__ = ["SandboxClient", "SandboxError", "SandboxServer", "SandboxState"]
